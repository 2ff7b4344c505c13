//! Rate limits: fixed window anchored at a key's first request (litellm v3's), token
//! bucket, and a true sliding window (a log of admissions, exact at every instant).
//!
//! The host passes the time (`now_ms`), so tests inject a clock and every host agrees.
//! Keys are held as 64-bit hashes; state idle for a whole window carries no information
//! (windows reset, buckets refill, logs expire), so keys live in two generations rotated
//! every window: an idle key is dropped within two windows, with no scan per request.

use hashbrown::HashMap;

pub use crate::control::fnv1a64 as key_hash;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    FixedWindow,
    TokenBucket,
    SlidingWindow,
}

impl Algorithm {
    pub fn parse(name: &str) -> Result<Algorithm, String> {
        match name {
            "fixed-window" | "fixed_window" => Ok(Algorithm::FixedWindow),
            "token-bucket" | "token_bucket" => Ok(Algorithm::TokenBucket),
            "sliding-window" | "sliding_window" => Ok(Algorithm::SlidingWindow),
            _ => Err(format!("unknown algorithm {name:?}: expected fixed-window, token-bucket or sliding-window")),
        }
    }
}

/// The answer for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// What is left in the current window (or bucket) after this request.
    pub remaining: u64,
    /// For a denial: how long until the same request would be admitted.
    pub retry_after_ms: u64,
}

/// Fixed window: (start of the window, truncated to 32 bits of ms; units used). 8 bytes:
/// a million keys fit in about 50 bytes each. The truncated start is exact while a window
/// is shorter than 2^31 ms, since a key idle for two windows is dropped.
#[derive(Clone, Copy, Debug)]
struct Fixed {
    start: u32,
    used: u32,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

#[derive(Clone, Debug, Default)]
struct Log {
    admitted: VecDeque<(u64, u64)>,
    used: u64,
}

/// Keys in two generations, rotated every window (see the module comment).
struct Generations<S> {
    current: HashMap<u64, S>,
    previous: HashMap<u64, S>,
    start_ms: u64,
}

impl<S> Generations<S> {
    fn new() -> Self {
        Generations { current: HashMap::new(), previous: HashMap::new(), start_ms: 0 }
    }

    /// A key still in `previous` at a rotation was last seen before the rotation before,
    /// more than a window ago: its state no longer matters and it is dropped here.
    fn take(&mut self, key: u64, now_ms: u64, window_ms: u64) -> Option<S> {
        if now_ms.saturating_sub(self.start_ms) >= window_ms {
            self.previous = std::mem::take(&mut self.current);
            self.start_ms = now_ms;
        }
        self.current.remove(&key).or_else(|| self.previous.remove(&key))
    }

    fn put(&mut self, key: u64, state: S) {
        self.current.insert(key, state);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

enum Store {
    Fixed(Generations<Fixed>),
    Bucket(Generations<Bucket>),
    Log(Generations<Log>),
}

pub struct Limiter {
    pub algorithm: Algorithm,
    pub limit: u64,
    pub window_ms: u64,
    store: Store,
    pub allowed: u64,
    pub denied: u64,
}

impl Limiter {
    pub fn new(algorithm: Algorithm, limit: u64, window_ms: u64) -> Result<Limiter, String> {
        if limit == 0 || limit > u64::from(u32::MAX) {
            return Err(format!("limit must be between 1 and {}, got {limit}", u32::MAX));
        }
        if window_ms == 0 || window_ms > 1 << 31 {
            return Err(format!("window must be between 1 ms and 2^31 ms (24.8 days), got {window_ms} ms"));
        }
        let store = match algorithm {
            Algorithm::FixedWindow => Store::Fixed(Generations::new()),
            Algorithm::TokenBucket => Store::Bucket(Generations::new()),
            Algorithm::SlidingWindow => Store::Log(Generations::new()),
        };
        Ok(Limiter { algorithm, limit, window_ms, store, allowed: 0, denied: 0 })
    }

    pub fn keys(&self) -> usize {
        match &self.store {
            Store::Fixed(g) => g.len(),
            Store::Bucket(g) => g.len(),
            Store::Log(g) => g.len(),
        }
    }

    /// Admit `cost` units for `key_hash` at `now_ms`, or say when they would fit.
    pub fn check(&mut self, key_hash: u64, cost: u64, now_ms: u64) -> Decision {
        let (limit, window) = (self.limit, self.window_ms);
        let decision = match &mut self.store {
            Store::Fixed(g) => {
                let state = g.take(key_hash, now_ms, window).unwrap_or(Fixed { start: now_ms as u32, used: 0 });
                let (state, d) = fixed(state, cost, now_ms, limit, window);
                g.put(key_hash, state);
                d
            }
            Store::Bucket(g) => {
                let state = g.take(key_hash, now_ms, window).unwrap_or(Bucket { tokens: limit as f64, last_ms: now_ms });
                let (state, d) = bucket(state, cost, now_ms, limit, window);
                g.put(key_hash, state);
                d
            }
            Store::Log(g) => {
                let mut state = g.take(key_hash, now_ms, window).unwrap_or_default();
                let d = log(&mut state, cost, now_ms, limit, window);
                g.put(key_hash, state);
                d
            }
        };
        if cost > 0 {
            // a cost-0 check only looks at what is left
            if decision.allowed {
                self.allowed += 1;
            } else {
                self.denied += 1;
            }
        }
        decision
    }
}

fn fixed(mut s: Fixed, cost: u64, now: u64, limit: u64, window: u64) -> (Fixed, Decision) {
    let mut elapsed = u64::from((now as u32).wrapping_sub(s.start));
    if elapsed >= window {
        s = Fixed { start: now as u32, used: 0 }; // anchored at the first request of the window
        elapsed = 0;
    }
    let used = u64::from(s.used);
    if used + cost > limit {
        let retry = if cost > limit { u64::MAX } else { window - elapsed };
        (s, Decision { allowed: false, remaining: limit - used, retry_after_ms: retry })
    } else {
        s.used = (used + cost) as u32;
        (s, Decision { allowed: true, remaining: limit - used - cost, retry_after_ms: 0 })
    }
}

fn bucket(mut s: Bucket, cost: u64, now: u64, limit: u64, window: u64) -> (Bucket, Decision) {
    let rate = limit as f64 / window as f64; // tokens per ms
    s.tokens = (s.tokens + now.saturating_sub(s.last_ms) as f64 * rate).min(limit as f64);
    s.last_ms = now;
    let c = cost as f64;
    if s.tokens + 1e-9 >= c {
        s.tokens = (s.tokens - c).max(0.0);
        (s, Decision { allowed: true, remaining: s.tokens as u64, retry_after_ms: 0 })
    } else {
        let retry = if cost > limit { u64::MAX } else { ((c - s.tokens) / rate).ceil() as u64 };
        (s, Decision { allowed: false, remaining: s.tokens as u64, retry_after_ms: retry })
    }
}

fn log(s: &mut Log, cost: u64, now: u64, limit: u64, window: u64) -> Decision {
    while let Some(&(t, c)) = s.admitted.front() {
        if now.saturating_sub(t) >= window {
            s.admitted.pop_front();
            s.used -= c;
        } else {
            break;
        }
    }
    if s.used + cost <= limit {
        s.admitted.push_back((now, cost));
        s.used += cost;
        return Decision { allowed: true, remaining: limit - s.used, retry_after_ms: 0 };
    }
    if cost > limit {
        return Decision { allowed: false, remaining: limit - s.used, retry_after_ms: u64::MAX };
    }
    // the earliest time enough admissions have left the window
    let mut freed = limit - s.used;
    let mut retry = 0;
    for &(t, c) in &s.admitted {
        freed += c;
        if freed >= cost {
            retry = t + window - now;
            break;
        }
    }
    Decision { allowed: false, remaining: limit - s.used, retry_after_ms: retry }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_is_anchored_at_the_first_request() {
        let mut l = Limiter::new(Algorithm::FixedWindow, 2, 1_000).unwrap();
        assert!(l.check(1, 1, 500).allowed);
        assert!(l.check(1, 1, 900).allowed);
        let d = l.check(1, 1, 1_200);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 300); // the window started at 500
        assert!(l.check(1, 1, 1_500).allowed);
    }

    #[test]
    fn sliding_window_is_exact_at_every_instant() {
        let mut l = Limiter::new(Algorithm::SlidingWindow, 2, 1_000).unwrap();
        assert!(l.check(7, 1, 0).allowed);
        assert!(l.check(7, 1, 600).allowed);
        let d = l.check(7, 1, 999);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 1);
        assert!(l.check(7, 1, 1_000).allowed); // the first admission left the window
        assert!(!l.check(7, 1, 1_500).allowed);
    }

    #[test]
    fn token_bucket_refills_at_the_limit_rate() {
        let mut l = Limiter::new(Algorithm::TokenBucket, 10, 1_000).unwrap();
        for _ in 0..10 {
            assert!(l.check(3, 1, 0).allowed);
        }
        let d = l.check(3, 1, 0);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 100);
        assert!(l.check(3, 1, 100).allowed);
    }

    #[test]
    fn idle_keys_are_dropped_within_two_windows() {
        let mut l = Limiter::new(Algorithm::FixedWindow, 5, 1_000).unwrap();
        for k in 0..1_000 {
            l.check(k, 1, 0);
        }
        assert_eq!(l.keys(), 1_000);
        l.check(99_999, 1, 1_000);
        assert_eq!(l.keys(), 1_001);
        l.check(99_999, 1, 2_000);
        assert_eq!(l.keys(), 1);
    }
}
