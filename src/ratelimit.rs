//! Rate limits: fixed window anchored at a key's first request (litellm v3's), token
//! bucket, and a true sliding window (a log of admissions, exact at every instant).
//!
//! The host passes the time (`now_ms`), so tests inject a clock and every host agrees.
//! Keys are held as 64-bit hashes; state idle for a whole window carries no information
//! (windows reset, buckets refill, logs expire), so keys live in two generations rotated
//! every window: an idle key is dropped within two windows, with no scan per request.
//!
//! Memory per key is what bounds how many keys a limiter can track, so the stored state is
//! small: times are 32 bits relative to the generation's start, a sliding-window key with a
//! single admission keeps it inline, and each generation is split into SHARDS tables so
//! growing never holds two copies of a large table at once.

use hashbrown::HashMap;

pub use crate::control::fnv1a64 as key_hash;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    FixedWindow,
    TokenBucket,
    SlidingWindow,
    /// Concurrency slots: `limit` in flight per key. A slot is a lease of one window, so a
    /// request that never releases (a crashed worker) frees its slot when the lease ends.
    MaxParallel,
}

impl Algorithm {
    pub fn parse(name: &str) -> Result<Algorithm, String> {
        match name {
            "fixed-window" | "fixed_window" => Ok(Algorithm::FixedWindow),
            "token-bucket" | "token_bucket" => Ok(Algorithm::TokenBucket),
            "sliding-window" | "sliding_window" => Ok(Algorithm::SlidingWindow),
            "max-parallel" | "max_parallel" => Ok(Algorithm::MaxParallel),
            _ => Err(format!("unknown algorithm {name:?}: expected fixed-window, token-bucket, sliding-window or max-parallel")),
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

/// Keys are spread over this many tables per generation, so a table that doubles is a
/// small one: with one table, the old and new arrays of the last doubling (half and all of
/// the final size) were both resident, and the linear memory never gives them back.
const SHARDS: usize = 64;

fn shard(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARDS.trailing_zeros())) as usize
}

/// Times are stored in 32 bits, relative to the start (`base`) of the generation holding
/// the key. A key is touched at `base..base + window` and its stored times are within a
/// window of that, so they fit an i32 exactly (window <= 2^31 ms) for a clock that does not
/// go back by more than about 2^31 - window ms.
fn to_rel(t: u64, base: u64) -> i32 {
    t.wrapping_sub(base) as i32
}

fn from_rel(t: i32, base: u64) -> u64 {
    base.wrapping_add(t as i64 as u64)
}

/// A key's state as the table holds it (`Self`) and as the algorithm reads it (`State`).
trait Packed: Default {
    type State;
    fn pack(state: Self::State, base: u64) -> Self;
    fn unpack(self, base: u64) -> Self::State;
}

/// Fixed window: start of the window and units used (at most the limit, a u32).
#[derive(Clone, Copy, Debug)]
struct Fixed {
    start: u64,
    used: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct PackedFixed {
    start: i32,
    used: u32,
}

impl Packed for PackedFixed {
    type State = Fixed;
    fn pack(s: Fixed, base: u64) -> Self {
        PackedFixed { start: to_rel(s.start, base), used: s.used as u32 }
    }
    fn unpack(self, base: u64) -> Fixed {
        Fixed { start: from_rel(self.start, base), used: u64::from(self.used) }
    }
}

/// Token bucket. The f64 is kept as is, so every decision is bit for bit the one the f64
/// arithmetic always made; only the time of the last refill shrinks to 32 bits.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct PackedBucket {
    tokens: f64,
    last: i32,
}

impl Packed for PackedBucket {
    type State = Bucket;
    fn pack(s: Bucket, base: u64) -> Self {
        PackedBucket { tokens: s.tokens, last: to_rel(s.last_ms, base) }
    }
    fn unpack(self, base: u64) -> Bucket {
        Bucket { tokens: self.tokens, last_ms: from_rel(self.last, base) }
    }
}

/// Sliding window: the admissions still in the window, oldest first. Most keys hold at most
/// one, kept inline (no heap block per key); a second one at another ms moves the log to
/// the heap. `T` is the time: u64 while deciding, i32 relative to `base` when stored.
/// Admissions of cost 0 are not logged and admissions in the same ms are merged: neither
/// changes when units leave the window, so no decision changes.
#[derive(Debug, Default)]
enum Log<T> {
    #[default]
    Empty,
    One { at: T, cost: u32 },
    Many(Box<Spill>),
}

#[derive(Debug)]
struct Spill {
    admitted: VecDeque<(u64, u64)>,
    used: u64,
}

impl Packed for Log<i32> {
    type State = Log<u64>;
    fn pack(s: Log<u64>, base: u64) -> Self {
        match s {
            Log::Empty => Log::Empty,
            Log::One { at, cost } => Log::One { at: to_rel(at, base), cost },
            Log::Many(spill) => Log::Many(spill),
        }
    }
    fn unpack(self, base: u64) -> Log<u64> {
        match self {
            Log::Empty => Log::Empty,
            Log::One { at, cost } => Log::One { at: from_rel(at, base), cost },
            Log::Many(spill) => Log::Many(spill),
        }
    }
}

impl Log<u64> {
    fn used(&self) -> u64 {
        match self {
            Log::Empty => 0,
            Log::One { cost, .. } => u64::from(*cost),
            Log::Many(spill) => spill.used,
        }
    }

    fn admissions(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let (one, many) = match self {
            Log::Empty => (None, None),
            Log::One { at, cost } => (Some((*at, u64::from(*cost))), None),
            Log::Many(spill) => (None, Some(spill.admitted.iter().copied())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Drop the admissions that left the window; a log down to one goes back inline.
    fn expire(self, now: u64, window: u64) -> Log<u64> {
        match self {
            Log::One { at, .. } if now.saturating_sub(at) >= window => Log::Empty,
            Log::Many(mut spill) => {
                while let Some(&(t, c)) = spill.admitted.front() {
                    if now.saturating_sub(t) < window {
                        break;
                    }
                    spill.admitted.pop_front();
                    spill.used -= c;
                }
                match spill.admitted.len() {
                    0 => Log::Empty,
                    // the one left is at most the limit, a u32
                    1 => Log::One { at: spill.admitted[0].0, cost: spill.used as u32 },
                    _ => Log::Many(spill),
                }
            }
            s => s,
        }
    }

    /// Remove `cost` units, oldest first (more than is logged empties the log). Without
    /// lease ids, taking the oldest is the safe choice: the leases left are the newest, so
    /// no request still running loses its slot to an older lease expiring.
    fn release(self, mut cost: u64) -> Log<u64> {
        match self {
            Log::One { at, cost: c } if u64::from(c) > cost => Log::One { at, cost: c - cost as u32 },
            Log::One { .. } | Log::Empty => Log::Empty,
            Log::Many(mut spill) => {
                while cost > 0 {
                    let Some((_, c)) = spill.admitted.front_mut() else { break };
                    if *c > cost {
                        *c -= cost;
                        spill.used -= cost;
                        break;
                    }
                    cost -= *c;
                    spill.used -= *c;
                    spill.admitted.pop_front();
                }
                match spill.admitted.len() {
                    0 => Log::Empty,
                    1 => Log::One { at: spill.admitted[0].0, cost: spill.used as u32 },
                    _ => Log::Many(spill),
                }
            }
        }
    }

    /// Log `cost` (> 0, and with what is logged at most the limit, so a u32) at `now`.
    fn push(self, now: u64, cost: u64) -> Log<u64> {
        match self {
            Log::Empty => Log::One { at: now, cost: cost as u32 },
            Log::One { at, cost: c } if at == now => Log::One { at, cost: c + cost as u32 },
            Log::One { at, cost: c } => {
                let admitted = VecDeque::from([(at, u64::from(c)), (now, cost)]);
                Log::Many(Box::new(Spill { admitted, used: u64::from(c) + cost }))
            }
            Log::Many(mut spill) => {
                match spill.admitted.back_mut() {
                    Some((t, c)) if *t == now => *c += cost,
                    _ => spill.admitted.push_back((now, cost)),
                }
                spill.used += cost;
                Log::Many(spill)
            }
        }
    }
}

/// Keys in two generations, rotated every window (see the module comment), each generation
/// in SHARDS tables. `start_ms` and `previous_start_ms` are the bases of stored times.
struct Generations<P> {
    current: Vec<HashMap<u64, P>>,
    previous: Vec<HashMap<u64, P>>,
    start_ms: u64,
    previous_start_ms: u64,
}

fn tables<P>() -> Vec<HashMap<u64, P>> {
    (0..SHARDS).map(|_| HashMap::new()).collect()
}

impl<P: Packed> Generations<P> {
    fn new() -> Self {
        Generations { current: tables(), previous: tables(), start_ms: 0, previous_start_ms: 0 }
    }

    /// Run `f` on the key's state (None for a new key) and store what it returns (None:
    /// nothing worth keeping, the key is dropped). A key still in `previous` at a rotation
    /// was last seen before the rotation before, more than a window ago: its state no
    /// longer matters and it is dropped here.
    fn update<R>(
        &mut self,
        key: u64,
        now_ms: u64,
        window_ms: u64,
        f: impl FnOnce(Option<P::State>) -> (Option<P::State>, R),
    ) -> R {
        if now_ms.saturating_sub(self.start_ms) >= window_ms {
            self.previous = std::mem::replace(&mut self.current, tables());
            self.previous_start_ms = std::mem::replace(&mut self.start_ms, now_ms);
        }
        let (base, i) = (self.start_ms, shard(key));
        if let Some(slot) = self.current[i].get_mut(&key) {
            let (state, r) = f(Some(std::mem::take(slot).unpack(base)));
            match state {
                Some(state) => *slot = P::pack(state, base),
                None => {
                    self.current[i].remove(&key);
                }
            }
            return r;
        }
        let old = self.previous[i].remove(&key).map(|p| p.unpack(self.previous_start_ms));
        let (state, r) = f(old);
        if let Some(state) = state {
            self.current[i].insert(key, P::pack(state, base));
        }
        r
    }

    fn len(&self) -> usize {
        self.current.iter().chain(&self.previous).map(HashMap::len).sum()
    }
}

enum Store {
    Fixed(Generations<PackedFixed>),
    Bucket(Generations<PackedBucket>),
    Log(Generations<Log<i32>>),
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
            // slots are a log of leases: admissions that also leave on release
            Algorithm::SlidingWindow | Algorithm::MaxParallel => Store::Log(Generations::new()),
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
            Store::Fixed(g) => g.update(key_hash, now_ms, window, |s| {
                kept(fixed(s.unwrap_or(Fixed { start: now_ms, used: 0 }), cost, now_ms, limit, window))
            }),
            Store::Bucket(g) => g.update(key_hash, now_ms, window, |s| {
                kept(bucket(s.unwrap_or(Bucket { tokens: limit as f64, last_ms: now_ms }), cost, now_ms, limit, window))
            }),
            Store::Log(g) => {
                g.update(key_hash, now_ms, window, |s| kept(log(s.unwrap_or_default(), cost, now_ms, limit, window)))
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

impl Limiter {
    /// Give back `cost` slots of a max-parallel limiter (the oldest leases first, see
    /// `Log::release`); what is left afterwards.
    pub fn release(&mut self, key_hash: u64, cost: u64, now_ms: u64) -> Result<u64, String> {
        let (limit, window) = (self.limit, self.window_ms);
        match (&mut self.store, self.algorithm) {
            (Store::Log(g), Algorithm::MaxParallel) => Ok(g.update(key_hash, now_ms, window, |s| {
                let s = s.unwrap_or_default().expire(now_ms, window).release(cost);
                let left = limit - s.used();
                // no lease left: nothing to remember (a key never seen is not added)
                (if matches!(s, Log::Empty) { None } else { Some(s) }, left)
            })),
            _ => Err("release applies to max-parallel limiters only".into()),
        }
    }
}

/// A check's new state is always kept (it anchors windows, buckets and logs).
fn kept<S>((state, decision): (S, Decision)) -> (Option<S>, Decision) {
    (Some(state), decision)
}

fn fixed(mut s: Fixed, cost: u64, now: u64, limit: u64, window: u64) -> (Fixed, Decision) {
    // a clock that went back reads as a huge elapsed time: a new window, as before
    let mut elapsed = now.wrapping_sub(s.start);
    if elapsed >= window {
        s = Fixed { start: now, used: 0 }; // anchored at the first request of the window
        elapsed = 0;
    }
    if s.used.saturating_add(cost) > limit {
        let retry = if cost > limit { u64::MAX } else { window - elapsed };
        (s, Decision { allowed: false, remaining: limit - s.used, retry_after_ms: retry })
    } else {
        s.used += cost;
        (s, Decision { allowed: true, remaining: limit - s.used, retry_after_ms: 0 })
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

fn log(s: Log<u64>, cost: u64, now: u64, limit: u64, window: u64) -> (Log<u64>, Decision) {
    let s = s.expire(now, window);
    let used = s.used();
    if used.saturating_add(cost) <= limit {
        let s = if cost > 0 { s.push(now, cost) } else { s };
        return (s, Decision { allowed: true, remaining: limit - used - cost, retry_after_ms: 0 });
    }
    if cost > limit {
        return (s, Decision { allowed: false, remaining: limit - used, retry_after_ms: u64::MAX });
    }
    // the earliest time enough admissions have left the window
    let mut freed = limit - used;
    let mut retry = 0;
    for (t, c) in s.admissions() {
        freed += c;
        if freed >= cost {
            retry = t + window - now;
            break;
        }
    }
    (s, Decision { allowed: false, remaining: limit - used, retry_after_ms: retry })
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
    fn max_parallel_slots_are_released_or_expire() {
        let mut l = Limiter::new(Algorithm::MaxParallel, 2, 1_000).unwrap();
        assert!(l.check(5, 1, 0).allowed);
        assert!(l.check(5, 1, 10).allowed);
        let d = l.check(5, 1, 20);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, 980); // at the latest, when the oldest lease ends
        assert_eq!(l.release(5, 1, 30), Ok(1)); // the oldest lease (t=0) goes
        assert!(l.check(5, 1, 40).allowed);
        assert!(!l.check(5, 1, 50).allowed);
        // the leases left (t=10, t=40) end at 1,010 and 1,040
        assert!(!l.check(5, 1, 1_000).allowed);
        assert!(l.check(5, 1, 1_010).allowed);
        assert_eq!(l.release(5, 5, 1_011), Ok(2)); // over-release empties, never below zero
        assert_eq!(l.keys(), 0); // an empty log is not kept
        assert_eq!(l.release(77, 1, 1_012), Ok(2)); // releasing a key never seen adds nothing
        assert_eq!(l.keys(), 0);
        assert!(Limiter::new(Algorithm::SlidingWindow, 2, 1_000).unwrap().release(5, 1, 0).is_err());
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

    /// The limiter before keys were packed (commit 71e8cb8), verbatim but for names: the
    /// reference the packed one must agree with, decision for decision.
    mod reference {
        use super::super::Decision;
        use hashbrown::HashMap;
        use std::collections::VecDeque;

        #[derive(Clone, Copy)]
        pub struct Fixed {
            start: u32,
            used: u32,
        }

        #[derive(Clone, Copy)]
        pub struct Bucket {
            tokens: f64,
            last_ms: u64,
        }

        #[derive(Default)]
        pub struct Log {
            admitted: VecDeque<(u64, u64)>,
            used: u64,
        }

        struct Generations<S> {
            current: HashMap<u64, S>,
            previous: HashMap<u64, S>,
            start_ms: u64,
        }

        impl<S> Generations<S> {
            fn take(&mut self, key: u64, now_ms: u64, window_ms: u64) -> Option<S> {
                if now_ms.saturating_sub(self.start_ms) >= window_ms {
                    self.previous = std::mem::take(&mut self.current);
                    self.start_ms = now_ms;
                }
                self.current.remove(&key).or_else(|| self.previous.remove(&key))
            }
        }

        pub struct Limiter<S> {
            g: Generations<S>,
            limit: u64,
            window: u64,
        }

        impl<S> Limiter<S> {
            pub fn new(limit: u64, window: u64) -> Self {
                let g = Generations { current: HashMap::new(), previous: HashMap::new(), start_ms: 0 };
                Limiter { g, limit, window }
            }

            pub fn keys(&self) -> usize {
                self.g.current.len() + self.g.previous.len()
            }

            fn run(&mut self, key: u64, now: u64, f: impl FnOnce(Option<S>, u64, u64) -> (S, Decision)) -> Decision {
                let state = self.g.take(key, now, self.window);
                let (state, d) = f(state, self.limit, self.window);
                self.g.current.insert(key, state);
                d
            }
        }

        impl Limiter<Fixed> {
            pub fn check(&mut self, key: u64, cost: u64, now: u64) -> Decision {
                self.run(key, now, |s, limit, window| {
                    let mut s = s.unwrap_or(Fixed { start: now as u32, used: 0 });
                    let mut elapsed = u64::from((now as u32).wrapping_sub(s.start));
                    if elapsed >= window {
                        s = Fixed { start: now as u32, used: 0 };
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
                })
            }
        }

        impl Limiter<Bucket> {
            pub fn check(&mut self, key: u64, cost: u64, now: u64) -> Decision {
                self.run(key, now, |s, limit, window| {
                    let mut s = s.unwrap_or(Bucket { tokens: limit as f64, last_ms: now });
                    let rate = limit as f64 / window as f64;
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
                })
            }
        }

        impl Limiter<Log> {
            pub fn check(&mut self, key: u64, cost: u64, now: u64) -> Decision {
                self.run(key, now, |s, limit, window| {
                    let mut s = s.unwrap_or_default();
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
                        let remaining = limit - s.used;
                        return (s, Decision { allowed: true, remaining, retry_after_ms: 0 });
                    }
                    let remaining = limit - s.used;
                    if cost > limit {
                        return (s, Decision { allowed: false, remaining, retry_after_ms: u64::MAX });
                    }
                    let mut freed = limit - s.used;
                    let mut retry = 0;
                    for &(t, c) in &s.admitted {
                        freed += c;
                        if freed >= cost {
                            retry = t + window - now;
                            break;
                        }
                    }
                    (s, Decision { allowed: false, remaining, retry_after_ms: retry })
                })
            }
        }
    }

    /// xorshift64*: a small deterministic generator, so a failure replays exactly.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Random traffic: a few hot keys and a stream of new ones, costs around the limit, time
    /// steps from none to several windows (so keys move between generations and are
    /// dropped), and with `back` now and then a clock that steps back. It spans less than
    /// 2^32 ms, where the reference's 32-bit window start aliased (see
    /// fixed_window_survives_a_limiter_idle_for_2_to_the_32_ms).
    fn traffic(seed: u64, limit: u64, window: u64, steps: usize, back: bool) -> Vec<(u64, u64, u64)> {
        let mut rng = Rng(seed | 1);
        let first = 1_000_000 + rng.below(1 << 40);
        let mut now = first;
        let mut out = Vec::with_capacity(steps);
        for i in 0..steps as u64 {
            let key = if rng.below(4) == 0 { 1_000 + i } else { rng.below(6) };
            let cost = match rng.below(10) {
                0 => 0,
                1 => limit,
                2 => limit + 1,
                3 => rng.below(limit + 1),
                4 => u64::MAX - rng.below(3), // the reference's sums overflow; kept out below
                _ => 1,
            };
            now = match rng.below(12) {
                0..=3 => now,
                4..=7 => now + rng.below(window / 8 + 2),
                8 => now + rng.below(window + 2),
                9 => now + window * (1 + rng.below(3)) - rng.below(2),
                10 if back => now.saturating_sub(rng.below(window.min(1 << 20) + 1)),
                _ => now + 1,
            };
            if now - first >= 1 << 32 {
                break;
            }
            out.push((key, cost, now));
        }
        out
    }

    fn limits() -> Vec<(u64, u64)> {
        vec![(1, 1), (1, 1_000), (2, 7), (3, 1_000), (10, 1_000), (60, 60_000), (7, 1 << 20), (1_000, 333),
            (u64::from(u32::MAX), 1 << 31), (5, 1 << 31), (u64::from(u32::MAX), 3)]
    }

    macro_rules! agrees_with_reference {
        ($name:ident, $algorithm:expr, $state:ty, $back:expr) => {
            #[test]
            fn $name() {
                for (limit, window) in limits() {
                    for seed in 0..8 {
                        let mut new = Limiter::new($algorithm, limit, window).unwrap();
                        let mut old = reference::Limiter::<$state>::new(limit, window);
                        for (step, (key, cost, now)) in traffic(seed, limit, window, 3_000, $back).into_iter().enumerate() {
                            if cost > u64::MAX - limit {
                                continue; // the reference overflows (see costs_near_u64_max_are_denied)
                            }
                            let (a, b) = (new.check(key, cost, now), old.check(key, cost, now));
                            assert_eq!(a, b, "limit {limit} window {window} seed {seed} step {step}: key {key} cost {cost} at {now}");
                            assert_eq!(new.keys(), old.keys());
                        }
                    }
                }
            }
        };
    }

    agrees_with_reference!(fixed_window_agrees_with_the_reference, Algorithm::FixedWindow, reference::Fixed, true);
    agrees_with_reference!(token_bucket_agrees_with_the_reference, Algorithm::TokenBucket, reference::Bucket, true);
    // a clock stepping back only after a cost-0 check differs: see remaining_has_no_side_effects
    agrees_with_reference!(sliding_window_agrees_with_the_reference, Algorithm::SlidingWindow, reference::Log, false);

    #[test]
    fn remaining_has_no_side_effects() {
        // The reference logged cost-0 checks. After the clock stepped back, such an entry at
        // the front kept an older admission from expiring: "denied, retry in 0 ms".
        let mut new = Limiter::new(Algorithm::SlidingWindow, 1, 1).unwrap();
        let mut old = reference::Limiter::<reference::Log>::new(1, 1);
        for (cost, now) in [(0, 504), (1, 503)] {
            assert_eq!(new.check(3, cost, now), old.check(3, cost, now));
        }
        assert_eq!(old.check(3, 1, 504), Decision { allowed: false, remaining: 0, retry_after_ms: 0 });
        assert_eq!(new.check(3, 1, 504), Decision { allowed: true, remaining: 0, retry_after_ms: 0 });
    }

    #[test]
    fn costs_near_u64_max_are_denied() {
        // the unpacked version summed used + cost unchecked, and a wrapped sum admitted them
        for algorithm in [Algorithm::FixedWindow, Algorithm::TokenBucket, Algorithm::SlidingWindow] {
            let mut l = Limiter::new(algorithm, 10, 1_000).unwrap();
            assert!(l.check(1, 1, 0).allowed);
            let d = l.check(1, u64::MAX, 1);
            assert!(!d.allowed);
            assert_eq!(d.retry_after_ms, u64::MAX);
            assert_eq!(l.check(1, 0, 1).remaining, 9);
        }
    }

    #[test]
    fn fixed_window_survives_a_limiter_idle_for_2_to_the_32_ms() {
        // A 32-bit window start used to alias after 2^32 ms (49.7 days) without any check
        // on the limiter (no rotation dropped the key): the old window was taken as current.
        let mut l = Limiter::new(Algorithm::FixedWindow, 1, 1_000).unwrap();
        let mut old = reference::Limiter::<reference::Fixed>::new(1, 1_000);
        assert!(l.check(1, 1, 0).allowed && old.check(1, 1, 0).allowed);
        assert!(!old.check(1, 1, (1 << 32) + 5).allowed);
        assert!(l.check(1, 1, (1 << 32) + 5).allowed);
        assert!(!l.check(1, 1, (1 << 32) + 6).allowed);
    }

    #[test]
    fn the_sliding_log_spills_to_the_heap_and_comes_back_inline() {
        let mut l = Limiter::new(Algorithm::SlidingWindow, 5, 1_000).unwrap();
        assert!(l.check(9, 1, 100).allowed);
        assert!(l.check(9, 1, 100).allowed); // the same ms: merged, still inline
        let Store::Log(g) = &l.store else { unreachable!() };
        assert!(matches!(g.current[shard(9)][&9], Log::One { cost: 2, .. }));
        assert!(l.check(9, 2, 300).allowed);
        let Store::Log(g) = &l.store else { unreachable!() };
        assert!(matches!(g.current[shard(9)][&9], Log::Many(_)));
        let d = l.check(9, 2, 400); // 4 used, 1 left: waits for the 2 at 100 to leave
        assert_eq!((d.allowed, d.remaining, d.retry_after_ms), (false, 1, 700));
        assert!(l.check(9, 3, 1_100).allowed); // the ones at 100 left; 2 + 3 used
        let Store::Log(g) = &l.store else { unreachable!() };
        assert!(matches!(g.current[shard(9)][&9], Log::Many(_)));
        assert_eq!(l.check(9, 0, 1_300).remaining, 2); // the 2 at 300 left: one is inline again
        let Store::Log(g) = &l.store else { unreachable!() };
        assert!(matches!(g.current[shard(9)][&9], Log::One { cost: 3, .. }));
    }

    #[test]
    fn stored_state_is_small() {
        assert_eq!(std::mem::size_of::<PackedFixed>(), 8);
        assert!(std::mem::size_of::<PackedBucket>() <= 16);
        // 12 on wasm32 (a 4-byte Box), 16 on 64-bit hosts
        assert!(std::mem::size_of::<Log<i32>>() <= 16);
    }
}
