//! Rate limits: fixed window anchored at a key's first request (litellm v3's), token
//! bucket, and a true sliding window (a log of admissions, exact at every instant).
//!
//! The host passes the time (`now_ms`), so tests inject a clock and every host agrees.
//! Keys are held as 64-bit hashes; state idle for a whole window carries no information
//! (windows reset, buckets refill, logs expire), so keys live in two generations rotated
//! every window: an idle key is dropped within two windows, with no scan per request.

use hashbrown::HashMap;
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

#[derive(Debug, Clone)]
enum State {
    Fixed { start_ms: u64, used: u64 },
    Bucket { tokens: f64, last_ms: u64 },
    Log { admitted: VecDeque<(u64, u64)>, used: u64 },
}

pub struct Limiter {
    pub algorithm: Algorithm,
    pub limit: u64,
    pub window_ms: u64,
    current: HashMap<u64, State>,
    previous: HashMap<u64, State>,
    generation_start_ms: u64,
    pub allowed: u64,
    pub denied: u64,
}

impl Limiter {
    pub fn new(algorithm: Algorithm, limit: u64, window_ms: u64) -> Result<Limiter, String> {
        if limit == 0 {
            return Err("limit must be at least 1".into());
        }
        if window_ms == 0 {
            return Err("window must be at least 1 ms".into());
        }
        Ok(Limiter {
            algorithm,
            limit,
            window_ms,
            current: HashMap::new(),
            previous: HashMap::new(),
            generation_start_ms: 0,
            allowed: 0,
            denied: 0,
        })
    }

    pub fn keys(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    fn rotate(&mut self, now_ms: u64) {
        // A key still in `previous` at a rotation was last seen before the one before it,
        // more than a window ago: its state no longer matters and it is dropped here.
        if now_ms.saturating_sub(self.generation_start_ms) >= self.window_ms {
            self.previous = std::mem::take(&mut self.current);
            self.generation_start_ms = now_ms;
        }
    }

    fn fresh(&self, now_ms: u64) -> State {
        match self.algorithm {
            Algorithm::FixedWindow => State::Fixed { start_ms: now_ms, used: 0 },
            Algorithm::TokenBucket => State::Bucket { tokens: self.limit as f64, last_ms: now_ms },
            Algorithm::SlidingWindow => State::Log { admitted: VecDeque::new(), used: 0 },
        }
    }

    /// Admit `cost` units for `key_hash` at `now_ms`, or say when they would fit.
    pub fn check(&mut self, key_hash: u64, cost: u64, now_ms: u64) -> Decision {
        self.rotate(now_ms);
        let state = match self.current.remove(&key_hash).or_else(|| self.previous.remove(&key_hash)) {
            Some(s) => s,
            None => self.fresh(now_ms),
        };
        let (state, decision) = self.decide(state, cost, now_ms);
        self.current.insert(key_hash, state);
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

    fn decide(&self, state: State, cost: u64, now: u64) -> (State, Decision) {
        let (limit, window) = (self.limit, self.window_ms);
        match state {
            State::Fixed { mut start_ms, mut used } => {
                if now.saturating_sub(start_ms) >= window {
                    start_ms = now; // anchored at the first request of the new window
                    used = 0;
                }
                if used + cost > limit {
                    let retry = if cost > limit { u64::MAX } else { start_ms + window - now };
                    (State::Fixed { start_ms, used }, Decision { allowed: false, remaining: limit - used, retry_after_ms: retry })
                } else {
                    used += cost;
                    (State::Fixed { start_ms, used }, Decision { allowed: true, remaining: limit - used, retry_after_ms: 0 })
                }
            }
            State::Bucket { mut tokens, last_ms } => {
                let rate = limit as f64 / window as f64; // tokens per ms
                tokens = (tokens + now.saturating_sub(last_ms) as f64 * rate).min(limit as f64);
                let c = cost as f64;
                if tokens + 1e-9 >= c {
                    tokens = (tokens - c).max(0.0);
                    (State::Bucket { tokens, last_ms: now }, Decision { allowed: true, remaining: tokens as u64, retry_after_ms: 0 })
                } else {
                    let retry = if cost > limit { u64::MAX } else { ((c - tokens) / rate).ceil() as u64 };
                    (State::Bucket { tokens, last_ms: now }, Decision { allowed: false, remaining: tokens as u64, retry_after_ms: retry })
                }
            }
            State::Log { mut admitted, mut used } => {
                while let Some(&(t, c)) = admitted.front() {
                    if now.saturating_sub(t) >= window {
                        admitted.pop_front();
                        used -= c;
                    } else {
                        break;
                    }
                }
                if used + cost <= limit {
                    admitted.push_back((now, cost));
                    used += cost;
                    (State::Log { admitted, used }, Decision { allowed: true, remaining: limit - used, retry_after_ms: 0 })
                } else if cost > limit {
                    (State::Log { admitted, used }, Decision { allowed: false, remaining: limit - used, retry_after_ms: u64::MAX })
                } else {
                    // the earliest time enough admissions have left the window
                    let mut freed = limit - used;
                    let mut retry = 0;
                    for &(t, c) in &admitted {
                        freed += c;
                        if freed >= cost {
                            retry = t + window - now;
                            break;
                        }
                    }
                    (State::Log { admitted, used }, Decision { allowed: false, remaining: limit - used, retry_after_ms: retry })
                }
            }
        }
    }
}

/// FNV-1a 64 of a key (the same hash `control::bucket` uses before its modulo).
pub fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
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
