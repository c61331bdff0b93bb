//! Spend: one record per request, written off the request path in bounded batches, and
//! the per-key totals that budgets are checked against.
//!
//! The request handler hands a record to a bounded channel and waits only when the channel
//! is full (back-pressure: a slow database slows admissions instead of growing memory or
//! dropping records). One writer task drains it in transactions of up to
//! [`BATCH_MAX`] records, each inserting the raw rows (`request_id` is unique, so a replayed
//! batch counts nothing twice) and adding to the daily rollup.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::params;
use tokio::sync::mpsc;

use crate::db::{Db, Result};

/// One served (or failed) request.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    /// Unique per request (the response id), so a record is never counted twice.
    pub request_id: String,
    pub key_id: String,
    /// The public model name.
    pub model: String,
    /// Seconds since the epoch.
    pub at: i64,
    /// The HTTP status the client got.
    pub status: u16,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub micro_usd: u64,
}

/// Records queued for the writer at most (about 200 bytes each).
pub const QUEUE_CAPACITY: usize = 8192;
/// Records per transaction at most.
pub const BATCH_MAX: usize = 512;
/// How long the writer gathers records after the first before writing them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// The sending half: cheap to clone into handlers.
#[derive(Debug, Clone)]
pub struct UsageSink {
    tx: mpsc::Sender<UsageRecord>,
}

impl UsageSink {
    /// Queues a record, waiting while the queue is full.
    pub async fn record(&self, record: UsageRecord) {
        // The writer only stops when every sender is gone, so this cannot fail while the
        // proxy serves.
        let _ = self.tx.send(record).await;
    }
}

/// Starts the writer task on the current runtime. It ends, having written everything,
/// when every [`UsageSink`] is dropped; await the handle to flush at shutdown.
pub fn start_writer(db: Db) -> (UsageSink, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<UsageRecord>(QUEUE_CAPACITY);
    let handle = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        while rx.recv_many(&mut batch, BATCH_MAX).await > 0 {
            // Gather for a moment more: one transaction for many requests, not one each
            // (at a few thousand requests a second that is the difference between the
            // writer competing with the requests for the CPU and not).
            // The writer sleeps rather than waits on the queue meanwhile, so the requests
            // that queue records in that time do not each wake it.
            if batch.len() < BATCH_MAX {
                tokio::time::sleep(BATCH_WINDOW).await;
                while batch.len() < BATCH_MAX {
                    match rx.try_recv() {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
            }
            // Shared with each attempt's blocking thread rather than copied per attempt.
            let records = std::sync::Arc::new(std::mem::take(&mut batch));
            // A failed write is retried until it succeeds: losing spend is worse than
            // falling behind (the queue then fills and admissions wait).
            let mut delay = Duration::from_millis(100);
            loop {
                let (db, attempt) = (db.clone(), records.clone());
                match tokio::task::spawn_blocking(move || write_batch(&db, &attempt)).await {
                    Ok(Ok(())) => break,
                    Ok(Err(e)) => tracing::warn!(
                        "writing {} usage records failed: {e}; retrying",
                        records.len()
                    ),
                    Err(e) => tracing::warn!("the usage writer's thread failed: {e}; retrying"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    });
    (UsageSink { tx }, handle)
}

/// The day (UTC, `YYYY-MM-DD`) of a Unix time.
pub fn day_of(at: i64) -> String {
    cuervo_domain::calendar::utc_day(at)
}

/// Writes a batch in one transaction. Records already written (same `request_id`) are
/// skipped, and only new ones reach the rollup.
pub fn write_batch(db: &Db, records: &[UsageRecord]) -> Result<()> {
    let mut conn = db.lock();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO usage (request_id, key_id, model, day, at, status,
                                          input_tokens, output_tokens, micro_usd)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut rollup = tx.prepare_cached(
            "INSERT INTO usage_daily (key_id, model, day, requests, input_tokens, output_tokens,
                                      micro_usd)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
             ON CONFLICT (key_id, day, model) DO UPDATE SET
                 requests = requests + 1,
                 input_tokens = input_tokens + excluded.input_tokens,
                 output_tokens = output_tokens + excluded.output_tokens,
                 micro_usd = micro_usd + excluded.micro_usd",
        )?;
        for r in records {
            let day = day_of(r.at);
            let added = insert.execute(params![
                r.request_id,
                r.key_id,
                r.model,
                day,
                r.at,
                r.status,
                r.input_tokens as i64,
                r.output_tokens as i64,
                r.micro_usd as i64
            ])?;
            if added == 1 {
                rollup.execute(params![
                    r.key_id,
                    r.model,
                    day,
                    r.input_tokens as i64,
                    r.output_tokens as i64,
                    r.micro_usd as i64
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// One row of `GET /v1/usage`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UsageRow {
    pub key_id: String,
    pub model: String,
    pub day: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// Usage per key, model and day from the rollup, for `key_id` (or every key), between
/// two days inclusive (`YYYY-MM-DD`; `None`: unbounded).
pub fn query(
    db: &Db,
    key_id: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<UsageRow>> {
    let conn = db.lock();
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, model, day, requests, input_tokens, output_tokens, micro_usd
         FROM usage_daily
         WHERE (?1 IS NULL OR key_id = ?1) AND (?2 IS NULL OR day >= ?2)
           AND (?3 IS NULL OR day <= ?3)
         ORDER BY day, key_id, model",
    )?;
    let rows = stmt.query_map(params![key_id, from, to], |r| {
        Ok(UsageRow {
            key_id: r.get(0)?,
            model: r.get(1)?,
            day: r.get(2)?,
            requests: r.get::<_, i64>(3)?.max(0) as u64,
            input_tokens: r.get::<_, i64>(4)?.max(0) as u64,
            output_tokens: r.get::<_, i64>(5)?.max(0) as u64,
            cost_usd: r.get::<_, i64>(6)?.max(0) as f64 / 1_000_000.0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The first day of the budget period that contains `at` (`None`: no reset, all time).
pub fn period_start(period: Option<&str>, at: i64) -> Option<String> {
    let day = day_of(at);
    match period {
        Some("daily") => Some(day),
        Some("monthly") => Some(format!("{}-01", &day[..7])),
        _ => None,
    }
}

/// Micro-dollars a key spent since `from` (a day, inclusive), from the rollup.
pub fn spent_since(db: &Db, key_id: &str, from: Option<&str>) -> Result<u64> {
    let conn = db.lock();
    let total: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(micro_usd), 0) FROM usage_daily
             WHERE key_id = ?1 AND (?2 IS NULL OR day >= ?2)",
        )?
        .query_row(params![key_id, from], |r| r.get(0))?;
    Ok(total.max(0) as u64)
}

/// Spend not yet in the database: added when a request completes, removed when the
/// writer has stored it (approximately: it is cleared per key when the database total is
/// re-read), so a budget check sees requests still in the queue.
#[derive(Debug, Default)]
pub struct SpendCache {
    /// key id -> (period start, micro-dollars from the database, micro-dollars since).
    entries: Mutex<HashMap<String, SpendEntry>>,
}

#[derive(Debug, Clone)]
struct SpendEntry {
    period: Option<String>,
    stored: u64,
    recent: u64,
    read_at: std::time::Instant,
}

/// How long a key's database total is trusted before it is read again.
const SPEND_REFRESH: Duration = Duration::from_secs(5);

impl SpendCache {
    /// The key's spend in its current period, reading the database when the cached total
    /// is older than a few seconds or from another period.
    pub fn spent(&self, db: &Db, key_id: &str, period: Option<String>) -> Result<u64> {
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = entries.get(key_id)
                && e.period == period
                && e.read_at.elapsed() < SPEND_REFRESH
            {
                return Ok(e.stored + e.recent);
            }
        }
        let stored = spent_since(db, key_id, period.as_deref())?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Records that completed before this read may still be queued: keep counting
        // them until the next refresh rather than lose them from the check.
        let recent = entries
            .get(key_id)
            .filter(|e| e.period == period)
            .map_or(0, |e| e.recent);
        entries.insert(
            key_id.to_owned(),
            SpendEntry {
                period,
                stored,
                recent,
                read_at: std::time::Instant::now(),
            },
        );
        Ok(stored + recent)
    }

    /// Adds a completed request's cost to the key's cached total.
    pub fn add(&self, key_id: &str, micro_usd: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(key_id) {
            e.recent += micro_usd;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, key: &str, at: i64, usd: u64) -> UsageRecord {
        UsageRecord {
            request_id: id.into(),
            key_id: key.into(),
            model: "smart".into(),
            at,
            status: 200,
            input_tokens: 10,
            output_tokens: 5,
            micro_usd: usd,
        }
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400), "2000-02-29");
        assert_eq!(day_of(1_796_083_199), "2026-11-30");
        assert_eq!(day_of(1_796_083_200), "2026-12-01");
        assert_eq!(
            period_start(Some("monthly"), 1_796_083_200 + 86_400 * 7),
            Some("2026-12-01".into())
        );
        assert_eq!(period_start(None, 0), None);
    }

    #[test]
    fn a_replayed_batch_counts_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("p.db")).unwrap();
        let day = 1_796_083_200;
        let batch = vec![
            record("r1", "k", day, 100),
            record("r2", "k", day + 60, 250),
        ];
        write_batch(&db, &batch).unwrap();
        write_batch(&db, &batch).unwrap();
        write_batch(&db, &[record("r3", "other", day, 7)]).unwrap();
        let rows = query(&db, Some("k"), None, None).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].requests,
                rows[0].input_tokens,
                rows[0].output_tokens
            ),
            (2, 20, 10)
        );
        assert!((rows[0].cost_usd - 0.00035).abs() < 1e-12);
        assert_eq!(spent_since(&db, "k", Some("2026-12-01")).unwrap(), 350);
        assert_eq!(spent_since(&db, "k", Some("2026-12-02")).unwrap(), 0);
        assert_eq!(query(&db, None, None, None).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn the_writer_stores_everything_before_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("p.db")).unwrap();
        let (sink, handle) = start_writer(db.clone());
        for i in 0..2000 {
            sink.record(record(&format!("r{i}"), "k", 1_796_083_200, 1))
                .await;
        }
        drop(sink);
        handle.await.unwrap();
        assert_eq!(spent_since(&db, "k", None).unwrap(), 2000);
    }
}
