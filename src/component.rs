//! The `fast-litellm:component/tokenizer` export: WIT types in, core calls, WIT types out.

use crate::count::{count_text, forget_memo, CountSettings};
use crate::encodings::{self, Encoding};
use crate::json::Json;
use crate::messages::count_request;
use std::cell::Cell;

wit_bindgen::generate!({ path: "wit", world: "fast-litellm" });

use crate::control::{self, Breaker, BreakerSettings, Control, Route};
use crate::metrics::Metrics;
use crate::ratelimit::{key_hash, Algorithm, Limiter};
use crate::router::{Router, Routers};
use exports::fast_litellm::component::router as wit_router;
use exports::fast_litellm::component::ratelimit as wit_ratelimit;
use exports::fast_litellm::component::control as wit_control;
use exports::fast_litellm::component::metrics as wit_metrics;
use exports::fast_litellm::component::tokenizer::{self as wit, Guest};
use std::cell::RefCell;

thread_local! {
    static SETTINGS: Cell<CountSettings> = Cell::new(CountSettings::default());
    static CONTROL: RefCell<Control> = RefCell::new(Control::default());
    static METRICS: RefCell<Metrics> = RefCell::new(Metrics::default());
    static LIMITERS: RefCell<Vec<Limiter>> = const { RefCell::new(Vec::new()) };
    static ROUTERS: RefCell<Routers> = RefCell::new(Routers::default());
}

fn with_limiter<T>(id: u32, f: impl FnOnce(&mut Limiter) -> T) -> Option<T> {
    LIMITERS.with(|l| l.borrow_mut().get_mut(id as usize).map(f))
}

fn with_metrics<T>(f: impl FnOnce(&mut Metrics) -> T) -> T {
    METRICS.with(|m| f(&mut m.borrow_mut()))
}

fn with_control<T>(f: impl FnOnce(&mut Control) -> T) -> T {
    CONTROL.with(|c| f(&mut c.borrow_mut()))
}

fn settings() -> CountSettings {
    SETTINGS.with(Cell::get)
}

impl From<wit::Encoding> for Encoding {
    fn from(e: wit::Encoding) -> Self {
        match e {
            wit::Encoding::Cl100kBase => Encoding::Cl100kBase,
            wit::Encoding::O200kBase => Encoding::O200kBase,
            wit::Encoding::P50kBase => Encoding::P50kBase,
            wit::Encoding::R50kBase => Encoding::R50kBase,
        }
    }
}

impl From<Encoding> for wit::Encoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Cl100kBase => wit::Encoding::Cl100kBase,
            Encoding::O200kBase => wit::Encoding::O200kBase,
            Encoding::P50kBase => wit::Encoding::P50kBase,
            Encoding::R50kBase => wit::Encoding::R50kBase,
        }
    }
}

struct Component;

impl Guest for Component {
    fn component_version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn set_count_settings(s: wit::CountSettings) {
        let settings = CountSettings {
            chunk_chars: (s.chunk_chars as usize).max(1),
            max_exact_chars: (s.max_exact_chars as usize).max(1),
            extrapolation_samples: (s.extrapolation_samples as usize).max(1),
            default_image_tokens: s.default_image_tokens.into(),
            default_image_width: s.default_image_width.into(),
            default_image_height: s.default_image_height.into(),
            high_res_short_side: s.high_res_short_side.into(),
            high_res_long_side: s.high_res_long_side.into(),
            tile_width: u64::from(s.tile_width).max(1),
            tile_height: u64::from(s.tile_height).max(1),
        };
        SETTINGS.with(|cell| cell.set(settings));
        forget_memo();
    }

    fn encoding_for_model(model: String) -> wit::Encoding {
        encodings::encoding_for_model(&model).into()
    }

    fn count_text(encoding: wit::Encoding, text: String) -> u64 {
        count_text(encoding.into(), &text, &settings())
    }

    fn count_texts(encoding: wit::Encoding, texts: Vec<String>) -> Vec<u64> {
        let s = settings();
        texts.iter().map(|t| count_text(encoding.into(), t, &s)).collect()
    }

    fn count_texts_packed(encoding: wit::Encoding, texts: String) -> Option<String> {
        let Json::Arr(items) = Json::parse(&texts)? else { return None };
        let s = settings();
        let mut counts = Vec::with_capacity(items.len());
        for item in &items {
            let n = count_text(encoding.into(), item.as_str()?, &s);
            counts.push(u32::try_from(n).ok()?);
        }
        Some(encodings::pack_tokens(&counts))
    }

    fn encode(encoding: wit::Encoding, text: String) -> Vec<u32> {
        Encoding::from(encoding).encode(&text)
    }

    fn encode_packed(encoding: wit::Encoding, text: String) -> String {
        encodings::pack_tokens(&Encoding::from(encoding).encode(&text))
    }

    fn decode(encoding: wit::Encoding, tokens: Vec<u32>) -> Option<String> {
        Encoding::from(encoding).decode(&tokens)
    }

    fn decode_packed(encoding: wit::Encoding, packed: String) -> Option<String> {
        Encoding::from(encoding).decode(&encodings::unpack_tokens(&packed)?)
    }

    fn count_request(request: String) -> i64 {
        match count_request(&request, &settings()) {
            Ok(n) => n,
            Err(reason) => reason as i64,
        }
    }
}

impl From<Breaker> for wit_control::BreakerState {
    fn from(b: Breaker) -> Self {
        match b {
            Breaker::Closed => wit_control::BreakerState::Closed,
            Breaker::Open => wit_control::BreakerState::Open,
            Breaker::HalfOpen => wit_control::BreakerState::HalfOpen,
        }
    }
}

impl wit_control::Guest for Component {
    fn set_state(feature: String, state: String) -> Result<(), String> {
        with_control(|c| c.set_state(&feature, &state))
    }

    fn state(feature: String) -> String {
        with_control(|c| c.state(&feature).render())
    }

    fn epoch() -> u64 {
        with_control(|c| c.epoch())
    }

    fn bucket(request_id: String) -> u32 {
        control::bucket(&request_id)
    }

    fn decide(feature: String, request_id: String, now_ms: u64) -> wit_control::Route {
        match with_control(|c| c.decide(&feature, &request_id, now_ms)) {
            Route::Accelerated => wit_control::Route::Accelerated,
            Route::Stock => wit_control::Route::Stock,
            Route::Shadow => wit_control::Route::Shadow,
        }
    }

    fn set_breaker_settings(s: wit_control::BreakerSettings) {
        with_control(|c| {
            c.settings = BreakerSettings {
                error_threshold: s.error_threshold.max(1),
                window_ms: s.window_ms,
                cool_off_ms: s.cool_off_ms,
                probes_to_close: s.probes_to_close.max(1),
            }
        })
    }

    fn breaker(feature: String, now_ms: u64) -> wit_control::BreakerState {
        with_control(|c| c.breaker(&feature, now_ms)).into()
    }

    fn record_outcome(feature: String, ok: bool, now_ms: u64) -> wit_control::BreakerState {
        with_control(|c| c.record_outcome(&feature, ok, now_ms)).into()
    }

    fn error_counts(feature: String) -> (u64, u64) {
        with_control(|c| c.error_counts(&feature))
    }

    fn reset_errors(feature: Option<String>) {
        with_control(|c| c.reset_errors(feature.as_deref()))
    }
}

impl wit_metrics::Guest for Component {
    fn register_series(component: String, operation: String, path: String) -> u32 {
        with_metrics(|m| m.register(&component, &operation, &path))
    }

    fn record_packed(samples: String) -> u32 {
        // one char per byte, as encodings::unpack_tokens reads them
        let bytes: Option<Vec<u8>> = samples.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
        match bytes {
            Some(b) => with_metrics(|m| m.record_packed(&b)),
            None => 0,
        }
    }

    fn snapshot(component: Option<String>) -> String {
        with_metrics(|m| m.snapshot_json(component.as_deref()))
    }

    fn csv(component: Option<String>) -> String {
        with_metrics(|m| m.csv(component.as_deref()))
    }

    fn prometheus() -> String {
        with_metrics(|m| m.prometheus())
    }

    fn recommendations(min_samples: u64) -> Vec<String> {
        with_metrics(|m| m.recommendations(min_samples))
    }

    fn reset() {
        with_metrics(Metrics::reset)
    }
}

impl wit_ratelimit::Guest for Component {
    fn create(algorithm: String, limit: u64, window_ms: u64) -> Result<u32, String> {
        let limiter = Limiter::new(Algorithm::parse(&algorithm)?, limit, window_ms)?;
        LIMITERS.with(|l| {
            let mut l = l.borrow_mut();
            l.push(limiter);
            Ok((l.len() - 1) as u32)
        })
    }

    fn check(limiter: u32, key: String, cost: u64, now_ms: u64) -> Result<wit_ratelimit::Decision, String> {
        let d = with_limiter(limiter, |l| l.check(key_hash(&key), cost, now_ms))
            .ok_or_else(|| format!("no limiter {limiter}"))?;
        Ok(wit_ratelimit::Decision { allowed: d.allowed, remaining: d.remaining, retry_after_ms: d.retry_after_ms })
    }

    fn release(limiter: u32, key: String, cost: u64, now_ms: u64) -> Result<u64, String> {
        with_limiter(limiter, |l| l.release(key_hash(&key), cost, now_ms)).ok_or_else(|| format!("no limiter {limiter}"))?
    }

    fn check_packed(request: String) -> i64 {
        let mut parts = request.splitn(3, ',');
        let (Some(id), Some(now), Some(key)) = (parts.next(), parts.next(), parts.next()) else { return i64::MIN };
        let (Ok(id), Ok(now)) = (id.parse::<u32>(), now.parse::<u64>()) else { return i64::MIN };
        match with_limiter(id, |l| l.check(key_hash(key), 1, now)) {
            Some(d) if d.allowed => d.remaining.min(i64::MAX as u64) as i64,
            Some(d) => -(d.retry_after_ms.min(i64::MAX as u64 - 1) as i64) - 1,
            None => i64::MIN,
        }
    }

    fn check_cost_packed(request: String) -> Option<String> {
        let (id, now, cost, key) = cost_request(&request)?;
        let d = with_limiter(id, |l| l.check(key_hash(key), cost, now))?;
        Some(format!("{},{},{}", u8::from(d.allowed), d.remaining, d.retry_after_ms))
    }

    fn release_packed(request: String) -> i64 {
        let Some((id, now, cost, key)) = cost_request(&request) else { return i64::MIN };
        match with_limiter(id, |l| l.release(key_hash(key), cost, now)) {
            Some(Ok(free)) => free.min(i64::MAX as u64) as i64,
            Some(Err(_)) => -1,
            None => i64::MIN,
        }
    }

    fn stats(limiter: u32) -> (u64, u64, u64) {
        with_limiter(limiter, |l| (l.allowed, l.denied, l.keys() as u64)).unwrap_or((0, 0, 0))
    }

    fn memory_bytes() -> u64 {
        (core::arch::wasm32::memory_size(0) as u64) * 65_536
    }
}

/// "limiter,now-ms,cost,key" (the key last: it may hold commas).
fn cost_request(request: &str) -> Option<(u32, u64, u64, &str)> {
    let mut parts = request.splitn(4, ',');
    let (id, now, cost, key) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((id.parse().ok()?, now.parse().ok()?, cost.parse().ok()?, key))
}

impl wit_router::Guest for Component {
    fn create(groups: String) -> Result<u32, String> {
        let router = Router::from_json(&groups)?;
        Ok(ROUTERS.with(|r| r.borrow_mut().insert(router)))
    }

    fn remove(router: u32) -> bool {
        ROUTERS.with(|r| r.borrow_mut().remove(router))
    }

    fn select_packed(request: String) -> i64 {
        let Some((handle, rest)) = request.split_once(',') else { return i64::MIN };
        let Ok(handle) = handle.parse::<u32>() else { return i64::MIN };
        ROUTERS.with(|r| r.borrow().get(handle).map_or(i64::MIN, |router| router.select_packed(rest)))
    }

    fn candidates_packed(request: String) -> Option<String> {
        let (handle, rest) = request.split_once(',')?;
        let handle = handle.parse::<u32>().ok()?;
        ROUTERS.with(|r| r.borrow().get(handle)?.candidates_packed(rest))
    }

    fn deployments(router: u32) -> u64 {
        ROUTERS.with(|r| r.borrow().get(router).map_or(0, |router| router.deployments() as u64))
    }
}

export!(Component);
