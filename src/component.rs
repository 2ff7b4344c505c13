//! The `fast-litellm:component/tokenizer` export: WIT types in, core calls, WIT types out.

use crate::count::{count_text, forget_memo, CountSettings};
use crate::encodings::{self, Encoding};
use crate::json::Json;
use crate::messages::count_request;
use std::cell::Cell;

wit_bindgen::generate!({ path: "wit", world: "fast-litellm" });

use exports::fast_litellm::component::tokenizer::{self as wit, Guest};

thread_local! {
    static SETTINGS: Cell<CountSettings> = Cell::new(CountSettings::default());
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

export!(Component);
