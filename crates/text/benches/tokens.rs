//! Token counting throughput, and what loading an encoder costs.
//!
//! ```sh
//! CUERVO_BENCH_TOKENS=corpus.txt cargo bench -p cuervo-text --bench tokens
//! ```
//!
//! - `CUERVO_BENCH_TOKENS`: a UTF-8 file to count (default: the token test corpus, repeated
//!   to about 1 MB). The file is read into memory first.
//!
//! Before criterion runs, prints the load times: the shared encoder's first use in this
//! process (whatever the user's cache holds), then, per encoding, a build into an empty
//! cache directory (what the first use on a machine pays) and the median of five loads
//! from that cache (what every later process pays).
//!
//! Measured, throughput in bytes: [`Encoding::count_sequential`] (one thread) and
//! [`Encoding::count`] (split on rayon's pool at and above `PARALLEL_THRESHOLD`).

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use cuervo_text::tokens::{Encoding, Origin};

fn corpus() -> String {
    if let Some(path) = std::env::var_os("CUERVO_BENCH_TOKENS").filter(|p| !p.is_empty()) {
        return std::fs::read_to_string(&path).expect("CUERVO_BENCH_TOKENS is a UTF-8 file");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokens/corpus");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("the token corpus") {
            let path = entry.expect("a corpus entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let one: String = files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("UTF-8 corpus"))
        .collect();
    one.repeat((1_000_000 / one.len().max(1)).max(1))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn load_times() {
    for encoding in Encoding::ALL {
        let start = Instant::now();
        encoding.warm_up();
        println!(
            "{encoding}: first use of the shared encoder: {}",
            ms(start.elapsed())
        );
    }
    for encoding in Encoding::ALL {
        let dir = tempfile::tempdir().expect("a temporary cache directory");
        let start = Instant::now();
        let (_, origin) = encoding.load_encoder(Some(dir.path()));
        let built = start.elapsed();
        assert_eq!(origin, Origin::Built);
        let mut loads: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let (encoder, origin) = encoding.load_encoder(Some(dir.path()));
                let took = start.elapsed();
                assert_eq!(origin, Origin::Cache);
                drop(encoder);
                took
            })
            .collect();
        loads.sort();
        println!(
            "{encoding}: build into an empty cache {}; load from the cache {} (median of 5)",
            ms(built),
            ms(loads[2])
        );
    }
}

fn counting(c: &mut Criterion) {
    let text = corpus();
    let mut group = c.benchmark_group("tokens");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    for encoding in Encoding::ALL {
        group.bench_with_input(
            BenchmarkId::new("count_sequential", encoding),
            &text,
            |b, text| b.iter(|| encoding.count_sequential(text)),
        );
        group.bench_with_input(BenchmarkId::new("count", encoding), &text, |b, text| {
            b.iter(|| encoding.count(text))
        });
    }
    group.finish();
}

criterion_group!(benches, counting);

fn main() {
    load_times();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
