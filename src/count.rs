//! litellm's count function for one string: `_get_extrapolating_count_function` around
//! `_get_tiktoken_count_function` (litellm_core_utils/token_counter.py).
//! Lengths and slices are in Python chars (code points), not bytes.

use crate::encodings::Encoding;
use std::cell::RefCell;
use hashbrown::{HashMap, HashSet}; // foldhash: several times cheaper than SipHash for short keys
use std::hash::BuildHasher;

/// litellm's tunables that change counts; defaults are litellm's defaults.
#[derive(Clone, Copy, Debug)]
pub struct CountSettings {
    pub chunk_chars: usize,
    pub max_exact_chars: usize,
    pub extrapolation_samples: usize,
    pub default_image_tokens: u64,
    pub default_image_width: u64,
    pub default_image_height: u64,
    pub high_res_short_side: u64,
    pub high_res_long_side: u64,
    pub tile_width: u64,
    pub tile_height: u64,
}

impl Default for CountSettings {
    fn default() -> Self {
        CountSettings {
            chunk_chars: 1024,
            max_exact_chars: 4_000_000,
            extrapolation_samples: 16,
            default_image_tokens: 250,
            default_image_width: 300,
            default_image_height: 300,
            high_res_short_side: 768,
            high_res_long_side: 2000,
            tile_width: 512,
            tile_height: 512,
        }
    }
}

/// Byte offset of every char boundary, plus the end: `offsets[i]` starts char `i`.
fn char_offsets(text: &str) -> Vec<usize> {
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    offsets
}

/// Sum of exact counts over `chunk_chars`-char chunks of `text`.
fn count_chunked(encoding: Encoding, text: &str, chunk_chars: usize) -> u64 {
    if text.is_empty() {
        return 0;
    }
    // ASCII is the common case: bytes are chars, no offset table needed.
    if text.is_ascii() {
        return text
            .as_bytes()
            .chunks(chunk_chars)
            .map(|c| encoding.count(std::str::from_utf8(c).unwrap_or_default()) as u64)
            .sum();
    }
    let mut total = 0u64;
    let mut start = 0usize;
    let mut chars_in_chunk = 0usize;
    for (i, _) in text.char_indices() {
        if chars_in_chunk == chunk_chars {
            total += encoding.count(&text[start..i]) as u64;
            start = i;
            chars_in_chunk = 0;
        }
        chars_in_chunk += 1;
    }
    total + encoding.count(&text[start..]) as u64
}

/// Python's `round(a * b / c)` for non-negative integers: round half to even.
fn round_ratio(a: u128, b: u128, c: u128) -> u64 {
    let num = a * b;
    let (q, r) = (num / c, num % c);
    let up = match (2 * r).cmp(&c) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => q % 2 == 1,
        std::cmp::Ordering::Less => false,
    };
    (q + u128::from(up)) as u64
}

/// Strings up to this many bytes are remembered: roles, names, system prompts and tool
/// definitions repeat on every request, and hashing a string costs far less than running
/// the BPE on it. Bounded by entries and by bytes held; a full memo is cleared.
const MEMO_MAX_BYTES: usize = 8 * 1024;
const MEMO_MAX_ENTRIES: usize = 1 << 16;
const MEMO_MAX_TOTAL_BYTES: usize = 16 << 20;
/// Longer strings, up to this, are remembered when seen a second time: an agent's system
/// prompt of tens of KB comes with every request, while a document counted once should
/// not push the short strings out. Sightings are kept as hashes, a bounded set.
const MEMO_MAX_LARGE_BYTES: usize = 1 << 20;
const SEEN_MAX_ENTRIES: usize = 4096;

thread_local! {
    // One map per encoding, valid for the settings in force (see `forget_memo`).
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

#[derive(Default)]
struct Memo {
    counts: [HashMap<Box<str>, u64>; 4],
    bytes: usize,
    seen_large: HashSet<u64>, // hashes of (encoding, text) of long strings counted once
}

impl Memo {
    /// Whether a long `text` was counted before (and is now worth remembering).
    fn seen_before(&mut self, encoding: Encoding, text: &str) -> bool {
        let hash = self.seen_large.hasher().hash_one((encoding as u8, text));
        if self.seen_large.contains(&hash) {
            return true;
        }
        if self.seen_large.len() >= SEEN_MAX_ENTRIES {
            self.seen_large.clear();
        }
        self.seen_large.insert(hash);
        false
    }
}

/// Drop remembered counts; needed whenever the count settings change.
pub fn forget_memo() {
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        memo.counts.iter_mut().for_each(HashMap::clear);
        memo.bytes = 0;
        memo.seen_large.clear();
    });
}

/// Tokens in `text` exactly as litellm's count function reports them.
pub fn count_text(encoding: Encoding, text: &str, settings: &CountSettings) -> u64 {
    if text.len() > MEMO_MAX_LARGE_BYTES {
        return count_text_uncached(encoding, text, settings);
    }
    MEMO.with(|memo| {
        let memo = &mut *memo.borrow_mut();
        if let Some(n) = memo.counts[encoding as usize].get(text) {
            return *n;
        }
        let n = count_text_uncached(encoding, text, settings);
        if text.len() > MEMO_MAX_BYTES && !memo.seen_before(encoding, text) {
            return n;
        }
        let full = memo.counts.iter().map(HashMap::len).sum::<usize>() >= MEMO_MAX_ENTRIES
            || memo.bytes + text.len() > MEMO_MAX_TOTAL_BYTES;
        if full {
            memo.counts.iter_mut().for_each(HashMap::clear); // refills with what is hot
            memo.bytes = 0;
        }
        memo.bytes += text.len();
        memo.counts[encoding as usize].insert(text.into(), n);
        n
    })
}

fn count_text_uncached(encoding: Encoding, text: &str, settings: &CountSettings) -> u64 {
    let chunk = settings.chunk_chars.max(1);
    let max_exact = settings.max_exact_chars;
    // A string of more bytes than max_exact may still have few enough chars.
    if text.len() <= max_exact {
        return count_chunked(encoding, text, chunk);
    }
    let offsets = char_offsets(text);
    let len_chars = offsets.len() - 1;
    if len_chars <= max_exact {
        return count_chunked(encoding, text, chunk);
    }
    // _evenly_spaced_samples
    let sample_count = settings.extrapolation_samples.min(max_exact).max(1);
    let sample_chars = max_exact / sample_count;
    let last_start = len_chars - sample_chars;
    let denom = (sample_count.max(2) - 1) as u128;
    let mut sampled_tokens = 0u64;
    let mut sampled_chars = 0u64;
    for index in 0..sample_count {
        let start = (last_start as u128 * index as u128 / denom) as usize;
        let end = (start + sample_chars).min(len_chars);
        sampled_tokens += count_chunked(encoding, &text[offsets[start]..offsets[end]], chunk);
        sampled_chars += (end - start) as u64;
    }
    if sampled_chars == 0 {
        return 0;
    }
    round_ratio(sampled_tokens as u128, len_chars as u128, sampled_chars as u128)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered(encoding: Encoding, text: &str) -> bool {
        MEMO.with(|memo| memo.borrow().counts[encoding as usize].contains_key(text))
    }

    #[test]
    fn long_strings_are_remembered_from_their_second_count() {
        let settings = CountSettings::default();
        let text = "An agent's long system prompt. ".repeat(1000); // 31 KB
        let expected = count_text_uncached(Encoding::O200kBase, &text, &settings);
        assert_eq!(count_text(Encoding::O200kBase, &text, &settings), expected);
        assert!(!remembered(Encoding::O200kBase, &text));
        assert_eq!(count_text(Encoding::O200kBase, &text, &settings), expected);
        assert!(remembered(Encoding::O200kBase, &text));
        assert_eq!(count_text(Encoding::O200kBase, &text, &settings), expected);
        // another encoding is another sighting
        assert_eq!(count_text(Encoding::Cl100kBase, &text, &settings),
                   count_text_uncached(Encoding::Cl100kBase, &text, &settings));
        assert!(!remembered(Encoding::Cl100kBase, &text));
        forget_memo();
        assert!(!remembered(Encoding::O200kBase, &text));
        count_text(Encoding::O200kBase, &text, &settings);
        assert!(!remembered(Encoding::O200kBase, &text)); // sightings were forgotten too
        let short = "a short string";
        count_text(Encoding::O200kBase, short, &settings);
        assert!(remembered(Encoding::O200kBase, short));
    }

    #[test]
    fn rounds_half_to_even_like_python() {
        assert_eq!(round_ratio(5, 1, 2), 2); // 2.5 -> 2
        assert_eq!(round_ratio(7, 1, 2), 4); // 3.5 -> 4
        assert_eq!(round_ratio(10, 1, 3), 3);
        assert_eq!(round_ratio(11, 1, 3), 4);
    }

    #[test]
    fn chunking_splits_on_chars_not_bytes() {
        let s = CountSettings { chunk_chars: 3, ..Default::default() };
        let text = "héllo wörld";
        let by_hand: u64 = ["hél", "lo ", "wör", "ld"]
            .iter()
            .map(|c| Encoding::Cl100kBase.count(c) as u64)
            .sum();
        assert_eq!(count_text(Encoding::Cl100kBase, text, &s), by_hand);
    }
}
