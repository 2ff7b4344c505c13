//! Latency and outcome metrics, kept in the component so every host reports alike.
//!
//! Hosts register a series once (component, operation, path) and then send samples in
//! batches, packed, so that bookkeeping never costs a boundary crossing per call. Each
//! series keeps counts, errors, a log-linear latency histogram (8 sub-buckets per power
//! of two: percentiles within 12.5%) and per-input-size aggregates for recommendations.

use hashbrown::HashMap;
use std::fmt::Write as _;

const SUB_BITS: u32 = 3;
const BUCKETS: usize = 16 + (64 - 4) * 8;
/// Input size classes (in the host's unit: the Python host counts characters).
pub const SIZE_LIMITS: [u64; 5] = [100, 1_000, 10_000, 100_000, 1_000_000];
pub const SIZE_LABELS: [&str; 6] = ["<100", "<1k", "<10k", "<100k", "<1M", ">=1M"];

fn bucket_of(ns: u64) -> usize {
    if ns < 16 {
        return ns as usize;
    }
    let exp = 63 - ns.leading_zeros(); // >= 4
    let sub = (ns >> (exp - SUB_BITS)) & 7;
    16 + (exp as usize - 4) * 8 + sub as usize
}

/// The lower bound of a bucket, in ns.
fn bucket_floor(index: usize) -> u64 {
    if index < 16 {
        return index as u64;
    }
    let exp = (index - 16) / 8 + 4;
    let sub = ((index - 16) % 8) as u64;
    (1u64 << exp) + (sub << (exp as u32 - SUB_BITS))
}

fn size_class(size: u64) -> usize {
    SIZE_LIMITS.iter().position(|l| size < *l).unwrap_or(SIZE_LIMITS.len())
}

#[derive(Clone)]
pub struct Series {
    pub component: String,
    pub operation: String,
    pub path: String,
    pub count: u64,
    pub errors: u64,
    pub total_ns: u128,
    hist: Vec<u64>,
    /// per size class: (count, total ns)
    pub by_size: [(u64, u128); 6],
}

impl Series {
    fn new(component: &str, operation: &str, path: &str) -> Series {
        Series {
            component: component.into(),
            operation: operation.into(),
            path: path.into(),
            count: 0,
            errors: 0,
            total_ns: 0,
            hist: vec![0; BUCKETS],
            by_size: [(0, 0); 6],
        }
    }

    /// One sample standing for `weight` calls (hosts may time 1 call in n).
    fn record(&mut self, ok: bool, ns: u64, size: u64, weight: u64) {
        self.count += weight;
        self.errors += if ok { 0 } else { weight };
        self.total_ns += u128::from(ns) * u128::from(weight);
        self.hist[bucket_of(ns)] += weight;
        let c = &mut self.by_size[size_class(size)];
        c.0 += weight;
        c.1 += u128::from(ns) * u128::from(weight);
    }

    /// The q-quantile in microseconds (the midpoint of its bucket).
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.hist.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let lo = bucket_floor(i) as f64;
                let hi = if i + 1 < BUCKETS { bucket_floor(i + 1) as f64 } else { lo };
                return (lo + hi) / 2.0 / 1000.0;
            }
        }
        0.0
    }

    pub fn mean_us(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_ns as f64 / self.count as f64 / 1000.0
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    pub series: Vec<Series>,
    index: HashMap<(String, String, String), u32>,
}

impl Metrics {
    pub fn register(&mut self, component: &str, operation: &str, path: &str) -> u32 {
        let key = (component.to_owned(), operation.to_owned(), path.to_owned());
        if let Some(id) = self.index.get(&key) {
            return *id;
        }
        let id = self.series.len() as u32;
        self.series.push(Series::new(component, operation, path));
        self.index.insert(key, id);
        id
    }

    pub fn record(&mut self, id: u32, ok: bool, ns: u64, size: u64, weight: u64) -> bool {
        match self.series.get_mut(id as usize) {
            Some(s) => {
                s.record(ok, ns, size, weight);
                true
            }
            None => false,
        }
    }

    /// Samples packed as little-endian u64 quadruples (series id, flags, ns, input size);
    /// flags: bit 0 ok, the bits above it the sample's weight minus one (0 and 1 are one
    /// call, failed and ok). Returns how many were taken (unknown series are skipped).
    pub fn record_packed(&mut self, bytes: &[u8]) -> u32 {
        let mut taken = 0;
        for rec in bytes.chunks_exact(32) {
            let word = |i: usize| u64::from_le_bytes(rec[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
            let flags = word(1);
            if self.record(word(0) as u32, flags & 1 != 0, word(2), word(3), (flags >> 1).saturating_add(1)) {
                taken += 1;
            }
        }
        taken
    }

    pub fn reset(&mut self) {
        for s in &mut self.series {
            let fresh = Series::new(&s.component, &s.operation, &s.path);
            *s = fresh;
        }
    }

    fn selected<'a>(&'a self, component: Option<&'a str>) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| s.count > 0 && component.is_none_or(|c| s.component == c))
    }

    /// JSON: a list of series with counts, errors, mean/p50/p95/p99 (us) and size classes.
    pub fn snapshot_json(&self, component: Option<&str>) -> String {
        let items: Vec<serde_json::Value> = self
            .selected(component)
            .map(|s| {
                let sizes: Vec<serde_json::Value> = s
                    .by_size
                    .iter()
                    .enumerate()
                    .filter(|(_, (n, _))| *n > 0)
                    .map(|(i, (n, ns))| {
                        serde_json::json!({"size": SIZE_LABELS[i], "count": n,
                                           "mean_us": *ns as f64 / *n as f64 / 1000.0})
                    })
                    .collect();
                serde_json::json!({
                    "component": s.component, "operation": s.operation, "path": s.path,
                    "count": s.count, "errors": s.errors, "mean_us": s.mean_us(),
                    "p50_us": s.quantile_us(0.50), "p95_us": s.quantile_us(0.95), "p99_us": s.quantile_us(0.99),
                    "by_size": sizes,
                })
            })
            .collect();
        serde_json::Value::Array(items).to_string()
    }

    pub fn csv(&self, component: Option<&str>) -> String {
        let mut out = String::from("component,operation,path,count,errors,mean_us,p50_us,p95_us,p99_us\n");
        for s in self.selected(component) {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{:.3},{:.3},{:.3},{:.3}",
                csv_field(&s.component), csv_field(&s.operation), csv_field(&s.path), s.count, s.errors,
                s.mean_us(), s.quantile_us(0.5), s.quantile_us(0.95), s.quantile_us(0.99)
            );
        }
        out
    }

    /// Prometheus text exposition (counters and a summary per series).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP fast_litellm_calls_total Calls recorded, by component, operation and path.\n");
        out.push_str("# TYPE fast_litellm_calls_total counter\n");
        for s in self.selected(None) {
            let _ = writeln!(out, "fast_litellm_calls_total{{{}}} {}", labels(s), s.count);
        }
        out.push_str("# HELP fast_litellm_errors_total Failed calls, by component, operation and path.\n");
        out.push_str("# TYPE fast_litellm_errors_total counter\n");
        for s in self.selected(None) {
            let _ = writeln!(out, "fast_litellm_errors_total{{{}}} {}", labels(s), s.errors);
        }
        out.push_str("# HELP fast_litellm_call_seconds Call latency.\n");
        out.push_str("# TYPE fast_litellm_call_seconds summary\n");
        for s in self.selected(None) {
            for q in [0.5, 0.95, 0.99] {
                let _ = writeln!(out, "fast_litellm_call_seconds{{{},quantile=\"{q}\"}} {:.9}", labels(s),
                                 s.quantile_us(q) / 1e6);
            }
            let _ = writeln!(out, "fast_litellm_call_seconds_sum{{{}}} {:.9}", labels(s), s.total_ns as f64 / 1e9);
            let _ = writeln!(out, "fast_litellm_call_seconds_count{{{}}} {}", labels(s), s.count);
        }
        out
    }
}

impl Metrics {
    /// Advice derived from what was measured: per operation and input size, which path
    /// is faster (where both have at least `min_samples`), and error rates above 1%.
    pub fn recommendations(&self, min_samples: u64) -> Vec<String> {
        let mut out = Vec::new();
        for acc in self.selected(None).filter(|s| s.path == "accelerated") {
            let Some(stock) = self
                .selected(None)
                .find(|s| s.path == "litellm" && s.component == acc.component && s.operation == acc.operation)
            else {
                continue;
            };
            for (i, label) in SIZE_LABELS.iter().enumerate() {
                let (an, ans) = acc.by_size[i];
                let (sn, sns) = stock.by_size[i];
                if an < min_samples || sn < min_samples {
                    continue;
                }
                let (a_us, s_us) = (ans as f64 / an as f64 / 1000.0, sns as f64 / sn as f64 / 1000.0);
                if a_us <= s_us {
                    out.push(format!(
                        "{}.{}: inputs {label}: the component is {:.1}x faster ({a_us:.1} us vs {s_us:.1} us); keep it on",
                        acc.component, acc.operation, s_us / a_us
                    ));
                } else {
                    out.push(format!(
                        "{}.{}: inputs {label}: litellm's own path is {:.1}x faster ({s_us:.1} us vs {a_us:.1} us); \
                         route these inputs to litellm",
                        acc.component, acc.operation, a_us / s_us
                    ));
                }
            }
        }
        for s in self.selected(None) {
            if s.count >= min_samples && s.errors * 100 > s.count {
                out.push(format!(
                    "{}.{} ({}): {:.1}% of {} calls failed; check get_feature_status() and the logs",
                    s.component, s.operation, s.path, s.errors as f64 * 100.0 / s.count as f64, s.count
                ));
            }
        }
        out
    }
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

fn labels(s: &Series) -> String {
    let esc = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("component=\"{}\",operation=\"{}\",path=\"{}\"", esc(&s.component), esc(&s.operation), esc(&s.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for ns in [0u64, 1, 15, 16, 17, 100, 1_000, 12_345, 1 << 40, u64::MAX] {
            let b = bucket_of(ns);
            assert!(b >= last && b < BUCKETS);
            assert!(bucket_floor(b) <= ns);
            last = b;
        }
    }

    #[test]
    fn quantiles_and_packed_records() {
        let mut m = Metrics::default();
        let id = m.register("token_counting", "token_counter", "accelerated");
        assert_eq!(m.register("token_counting", "token_counter", "accelerated"), id);
        let mut packed = Vec::new();
        for i in 1..=100u64 {
            for w in [u64::from(id), u64::from(i != 50), i * 1_000, 10] {
                packed.extend_from_slice(&w.to_le_bytes());
            }
        }
        assert_eq!(m.record_packed(&packed), 100);
        let s = &m.series[id as usize];
        assert_eq!((s.count, s.errors), (100, 1));
        let p50 = s.quantile_us(0.5);
        assert!((45.0..=56.0).contains(&p50), "{p50}");
        assert!(m.prometheus().contains("fast_litellm_calls_total{component=\"token_counting\",operation=\"token_counter\",path=\"accelerated\"} 100"));
        assert!(m.csv(None).lines().count() == 2);
    }

    #[test]
    fn a_weighted_sample_stands_for_its_calls() {
        let mut m = Metrics::default();
        let id = m.register("token_counting", "token_counter", "accelerated");
        let mut packed = Vec::new();
        // one ok sample of weight 8 at 10 us, one failed call at 1 ms
        for w in [u64::from(id), 1 | (7 << 1), 10_000, 5, u64::from(id), 0, 1_000_000, 5] {
            packed.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(m.record_packed(&packed), 2);
        let s = &m.series[id as usize];
        assert_eq!((s.count, s.errors), (9, 1));
        assert!((s.mean_us() - (8.0 * 10.0 + 1_000.0) / 9.0).abs() < 1e-9);
        assert!(s.quantile_us(0.8) < 20.0 && s.quantile_us(0.95) > 500.0);
    }
}
