//! Prometheus metrics, rendered in the text exposition format on `GET /metrics`.
//!
//! A handful of counters and one latency histogram, kept in maps under one mutex: the
//! proxy updates them once per request, which costs far less than the request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram's buckets.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    /// (model, status) -> requests.
    requests: BTreeMap<(String, u16), u64>,
    /// model -> latency.
    latency: BTreeMap<String, Histogram>,
    /// (model, "input" | "output") -> tokens.
    tokens: BTreeMap<(String, &'static str), u64>,
    /// model -> micro-dollars.
    cost: BTreeMap<String, u64>,
    /// limit name -> refusals.
    limit_rejections: BTreeMap<&'static str, u64>,
    /// (model, deployment upstream) -> fallbacks taken away from it.
    fallbacks: BTreeMap<(String, String), u64>,
}

/// The proxy's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a finished request.
    pub fn request(&self, model: &str, status: u16, elapsed: Duration) {
        let mut m = self.lock();
        *m.requests.entry((model.to_owned(), status)).or_default() += 1;
        let h = m.latency.entry(model.to_owned()).or_default();
        if h.counts.is_empty() {
            h.counts = vec![0; BUCKETS.len()];
        }
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Counts tokens and cost of a served request.
    pub fn usage(&self, model: &str, input: u64, output: u64, micro_usd: u64) {
        let mut m = self.lock();
        *m.tokens.entry((model.to_owned(), "input")).or_default() += input;
        *m.tokens.entry((model.to_owned(), "output")).or_default() += output;
        *m.cost.entry(model.to_owned()).or_default() += micro_usd;
    }

    /// Counts a request refused by a limit or budget.
    pub fn rejected(&self, limit: &'static str) {
        *self.lock().limit_rejections.entry(limit).or_default() += 1;
    }

    /// Counts a fallback away from a failing deployment.
    pub fn fallback(&self, model: &str, upstream: &str) {
        *self
            .lock()
            .fallbacks
            .entry((model.to_owned(), upstream.to_owned()))
            .or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_requests_total Requests served, by public model and HTTP status."
        );
        let _ = writeln!(out, "# TYPE cuervo_proxy_requests_total counter");
        for ((model, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "cuervo_proxy_requests_total{{model=\"{}\",status=\"{status}\"}} {n}",
                escape(model)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_request_duration_seconds Time to the whole response, by public model."
        );
        let _ = writeln!(
            out,
            "# TYPE cuervo_proxy_request_duration_seconds histogram"
        );
        for (model, h) in &m.latency {
            let model = escape(model);
            for (bound, n) in BUCKETS.iter().zip(&h.counts) {
                let _ = writeln!(
                    out,
                    "cuervo_proxy_request_duration_seconds_bucket{{model=\"{model}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "cuervo_proxy_request_duration_seconds_bucket{{model=\"{model}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "cuervo_proxy_request_duration_seconds_sum{{model=\"{model}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "cuervo_proxy_request_duration_seconds_count{{model=\"{model}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_tokens_total Tokens, by public model and direction."
        );
        let _ = writeln!(out, "# TYPE cuervo_proxy_tokens_total counter");
        for ((model, kind), n) in &m.tokens {
            let _ = writeln!(
                out,
                "cuervo_proxy_tokens_total{{model=\"{}\",kind=\"{kind}\"}} {n}",
                escape(model)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_cost_usd_total Spend in dollars, by public model."
        );
        let _ = writeln!(out, "# TYPE cuervo_proxy_cost_usd_total counter");
        for (model, micro) in &m.cost {
            let _ = writeln!(
                out,
                "cuervo_proxy_cost_usd_total{{model=\"{}\"}} {}",
                escape(model),
                *micro as f64 / 1_000_000.0
            );
        }
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_limit_rejections_total Requests refused by a limit or budget."
        );
        let _ = writeln!(out, "# TYPE cuervo_proxy_limit_rejections_total counter");
        for (limit, n) in &m.limit_rejections {
            let _ = writeln!(
                out,
                "cuervo_proxy_limit_rejections_total{{limit=\"{limit}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP cuervo_proxy_fallbacks_total Requests moved to the next deployment after one failed."
        );
        let _ = writeln!(out, "# TYPE cuervo_proxy_fallbacks_total counter");
        for ((model, upstream), n) in &m.fallbacks {
            let _ = writeln!(
                out,
                "cuervo_proxy_fallbacks_total{{model=\"{}\",from=\"{}\"}} {n}",
                escape(model),
                escape(upstream)
            );
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("smart", 200, Duration::from_millis(20));
        m.request("smart", 200, Duration::from_millis(300));
        m.request("sm\"art", 429, Duration::from_millis(1));
        m.usage("smart", 10, 5, 1500);
        m.rejected("rpm");
        let text = m.render();
        assert!(
            text.contains("cuervo_proxy_requests_total{model=\"smart\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("model=\"sm\\\"art\""), "{text}");
        assert!(text.contains(
            "cuervo_proxy_request_duration_seconds_bucket{model=\"smart\",le=\"0.025\"} 1"
        ));
        assert!(text.contains(
            "cuervo_proxy_request_duration_seconds_bucket{model=\"smart\",le=\"0.5\"} 2"
        ));
        assert!(text.contains("cuervo_proxy_tokens_total{model=\"smart\",kind=\"output\"} 5"));
        assert!(text.contains("cuervo_proxy_cost_usd_total{model=\"smart\"} 0.0015"));
        assert!(text.contains("cuervo_proxy_limit_rejections_total{limit=\"rpm\"} 1"));
    }
}
