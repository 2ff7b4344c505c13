//! Feature flags and circuit breakers. They live in the component so that every host
//! decides the same way: a request id lands in the same rollout bucket in every process
//! and every language.

use hashbrown::HashMap;

/// A feature's configured state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Enabled,
    Disabled,
    /// Compute both, serve litellm's answer, record mismatches.
    Shadow,
    /// Accelerate this percentage of request ids (`rollout:N`).
    Rollout(u8),
    /// Same as rollout, named for a small first slice (`canary:N`).
    Canary(u8),
}

impl State {
    pub fn parse(text: &str) -> Result<State, String> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "enabled" | "true" | "on" | "1" => return Ok(State::Enabled),
            "disabled" | "false" | "off" | "0" => return Ok(State::Disabled),
            "shadow" => return Ok(State::Shadow),
            _ => {}
        }
        let (kind, pct) = t
            .split_once(':')
            .ok_or_else(|| format!("unknown state {text:?}: expected enabled, disabled, shadow, rollout:N or canary:N"))?;
        let n: u8 = pct
            .trim()
            .parse()
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| format!("bad percentage in {text:?}: expected a whole number 0..100"))?;
        match kind.trim() {
            "rollout" => Ok(State::Rollout(n)),
            "canary" => Ok(State::Canary(n)),
            _ => Err(format!("unknown state {text:?}: expected enabled, disabled, shadow, rollout:N or canary:N")),
        }
    }

    pub fn render(self) -> String {
        match self {
            State::Enabled => "enabled".into(),
            State::Disabled => "disabled".into(),
            State::Shadow => "shadow".into(),
            State::Rollout(n) => format!("rollout:{n}"),
            State::Canary(n) => format!("canary:{n}"),
        }
    }
}

/// FNV-1a (64-bit) over the UTF-8 bytes of `text`: the rollout bucket and the rate
/// limiters' key hash. Simple enough for any host to reproduce.
pub fn fnv1a64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Bucket 0..99 of a request id: FNV-1a 64, modulo 100. The component's answer is the
/// reference other hosts are tested against.
pub fn bucket(request_id: &str) -> u32 {
    (fnv1a64(request_id) % 100) as u32
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Accelerated,
    Stock,
    Shadow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaker {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Clone, Copy, Debug)]
pub struct BreakerSettings {
    /// Errors within `window_ms` that open the breaker.
    pub error_threshold: u32,
    pub window_ms: u64,
    /// How long an open breaker stays open before half-open probes.
    pub cool_off_ms: u64,
    /// Successful probes in half-open that close it again.
    pub probes_to_close: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { error_threshold: 10, window_ms: 60_000, cool_off_ms: 30_000, probes_to_close: 3 }
    }
}

#[derive(Default, Debug, Clone)]
struct BreakerState {
    /// Error times (ms) inside the window, oldest first.
    errors: Vec<u64>,
    open_until: Option<u64>,
    half_open_successes: u32,
    total_errors: u64,
    times_opened: u64,
}

#[derive(Default)]
pub struct Control {
    states: HashMap<String, State>,
    breakers: HashMap<String, BreakerState>,
    pub settings: BreakerSettings,
    epoch: u64,
}

impl Control {
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn set_state(&mut self, feature: &str, state: &str) -> Result<(), String> {
        let parsed = State::parse(state).map_err(|e| format!("{feature}: {e}"))?;
        self.states.insert(feature.to_owned(), parsed);
        self.epoch += 1;
        Ok(())
    }

    pub fn state(&self, feature: &str) -> State {
        self.states.get(feature).copied().unwrap_or(State::Enabled)
    }

    pub fn breaker(&mut self, feature: &str, now_ms: u64) -> Breaker {
        let b = self.breakers.entry(feature.to_owned()).or_default();
        match b.open_until {
            None => Breaker::Closed,
            Some(until) if now_ms < until => Breaker::Open,
            Some(_) => Breaker::HalfOpen,
        }
    }

    /// The route of one request: the state, then the breaker (an open breaker sends
    /// everything to litellm; half-open lets requests through as probes).
    pub fn decide(&mut self, feature: &str, request_id: &str, now_ms: u64) -> Route {
        let route = match self.state(feature) {
            State::Enabled => Route::Accelerated,
            State::Disabled => Route::Stock,
            State::Shadow => Route::Shadow,
            State::Rollout(n) | State::Canary(n) => {
                if bucket(request_id) < u32::from(n) {
                    Route::Accelerated
                } else {
                    Route::Stock
                }
            }
        };
        if route == Route::Stock {
            return route;
        }
        match self.breaker(feature, now_ms) {
            Breaker::Open => Route::Stock,
            _ => route,
        }
    }

    /// Report one outcome of the accelerated path; returns the breaker state after it.
    pub fn record_outcome(&mut self, feature: &str, ok: bool, now_ms: u64) -> Breaker {
        let s = self.settings;
        let state = self.breaker(feature, now_ms);
        let b = self.breakers.get_mut(feature).expect("breaker() created it");
        if ok {
            if state == Breaker::HalfOpen {
                b.half_open_successes += 1;
                if b.half_open_successes >= s.probes_to_close {
                    b.open_until = None;
                    b.errors.clear();
                    b.half_open_successes = 0;
                    self.epoch += 1;
                    return Breaker::Closed;
                }
            }
            return state;
        }
        b.total_errors += 1;
        if state == Breaker::HalfOpen {
            // a failed probe: open again for another cool-off
            b.open_until = Some(now_ms + s.cool_off_ms);
            b.half_open_successes = 0;
            b.times_opened += 1;
            self.epoch += 1;
            return Breaker::Open;
        }
        b.errors.retain(|t| now_ms.saturating_sub(*t) < s.window_ms);
        b.errors.push(now_ms);
        if state == Breaker::Closed && b.errors.len() as u32 >= s.error_threshold {
            b.open_until = Some(now_ms + s.cool_off_ms);
            b.errors.clear();
            b.times_opened += 1;
            self.epoch += 1;
            return Breaker::Open;
        }
        state
    }

    /// Errors recorded for a feature (all time) and how often its breaker opened.
    pub fn error_counts(&self, feature: &str) -> (u64, u64) {
        self.breakers.get(feature).map(|b| (b.total_errors, b.times_opened)).unwrap_or((0, 0))
    }

    pub fn reset_errors(&mut self, feature: Option<&str>) {
        match feature {
            Some(f) => {
                self.breakers.remove(f);
            }
            None => self.breakers.clear(),
        }
        self.epoch += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_states_and_rejects_bad_ones() {
        assert_eq!(State::parse("rollout:25"), Ok(State::Rollout(25)));
        assert_eq!(State::parse(" Canary:5 "), Ok(State::Canary(5)));
        assert_eq!(State::parse("true"), Ok(State::Enabled));
        assert!(State::parse("rollout:101").is_err());
        assert!(State::parse("rollout:-1").is_err());
        assert!(State::parse("sometimes").is_err());
    }

    #[test]
    fn bucket_is_fnv1a_mod_100() {
        assert_eq!(bucket(""), (0xcbf2_9ce4_8422_2325u64 % 100) as u32);
        let ids: Vec<u32> = (0..10_000).map(|i| bucket(&format!("req-{i}"))).collect();
        let under_25 = ids.iter().filter(|b| **b < 25).count();
        assert!((2_200..2_800).contains(&under_25), "{under_25}");
    }

    #[test]
    fn breaker_opens_half_opens_and_closes() {
        let mut c = Control::default();
        c.settings = BreakerSettings { error_threshold: 3, window_ms: 1_000, cool_off_ms: 500, probes_to_close: 2 };
        assert_eq!(c.decide("f", "id", 0), Route::Accelerated);
        c.record_outcome("f", false, 10);
        c.record_outcome("f", false, 20);
        assert_eq!(c.record_outcome("f", false, 30), Breaker::Open);
        assert_eq!(c.decide("f", "id", 100), Route::Stock);
        assert_eq!(c.breaker("f", 600), Breaker::HalfOpen);
        assert_eq!(c.decide("f", "id", 600), Route::Accelerated);
        assert_eq!(c.record_outcome("f", false, 610), Breaker::Open); // failed probe
        assert_eq!(c.record_outcome("f", true, 1_200), Breaker::HalfOpen);
        assert_eq!(c.record_outcome("f", true, 1_210), Breaker::Closed);
        // errors outside the window do not add up
        c.record_outcome("f", false, 5_000);
        c.record_outcome("f", false, 7_000);
        assert_eq!(c.record_outcome("f", false, 9_000), Breaker::Closed);
    }
}
