//! The four tiktoken encodings litellm can reach, bit-exact with Python tiktoken's
//! `encode(text, disallowed_special=())`, `decode(tokens)` and their lengths.
//!
//! cl100k_base and o200k_base run on bpe-openai (an exact BPE, about 1.6x faster than
//! tiktoken-rs in wasm); p50k_base and r50k_base, which only non-chat models reach, run on
//! tiktoken-rs. Special tokens are never recognised in text (litellm passes
//! `disallowed_special=()`), but decode must still render their ids.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    Cl100kBase,
    O200kBase,
    P50kBase,
    R50kBase,
}

impl Encoding {
    pub const ALL: [Encoding; 4] = [
        Encoding::Cl100kBase,
        Encoding::O200kBase,
        Encoding::P50kBase,
        Encoding::R50kBase,
    ];

    pub fn from_index(index: u64) -> Option<Encoding> {
        Self::ALL.get(index as usize).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Cl100kBase => "cl100k_base",
            Encoding::O200kBase => "o200k_base",
            Encoding::P50kBase => "p50k_base",
            Encoding::R50kBase => "r50k_base",
        }
    }

    pub fn from_name(name: &str) -> Option<Encoding> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// bpe-openai's tokenizer for the encodings it serves. Neither normalises (nfc is off
    /// for both), so splitting the raw text is exactly what its own `count`/`encode` do.
    fn bpe_tokenizer(self) -> Option<&'static bpe_openai::Tokenizer> {
        match self {
            Encoding::Cl100kBase => Some(bpe_openai::cl100k_base()),
            Encoding::O200kBase => Some(bpe_openai::o200k_base()),
            _ => None,
        }
    }

    /// `tok.split(text)`, ASCII pieces cut without the regex (`pretokenize`).
    fn split<'a>(self, tok: &'static bpe_openai::Tokenizer, text: &'a str) -> crate::pretokenize::Splits<'a> {
        crate::pretokenize::split(tok, self == Encoding::O200kBase, text)
    }

    /// Number of tokens tiktoken's `encode_ordinary` produces for `text`.
    pub fn count(self, text: &str) -> usize {
        match self.bpe_tokenizer() {
            Some(tok) => self
                .split(tok, text)
                .map(|piece| pieces::count(self, piece, || tok.bpe.count(piece.as_bytes())))
                .sum(),
            None => self.encode(text).len(),
        }
    }

    pub fn encode(self, text: &str) -> Vec<u32> {
        match self {
            Encoding::P50kBase => tiktoken_rs::p50k_base_singleton().encode_ordinary(text),
            Encoding::R50kBase => tiktoken_rs::r50k_base_singleton().encode_ordinary(text),
            _ => {
                let tok = self.bpe_tokenizer().expect("bpe-openai serves this encoding");
                let mut out = Vec::with_capacity(text.len() / 3);
                for piece in self.split(tok, text) {
                    pieces::encode(self, piece, &mut out, || tok.bpe.encode_via_backtracking(piece.as_bytes()));
                }
                out
            }
        }
    }

    /// The bytes behind `tokens`, or None if an id is not in this encoding (tiktoken raises).
    pub fn decode_bytes(self, tokens: &[u32]) -> Option<Vec<u8>> {
        let bpe = match self {
            Encoding::Cl100kBase => &bpe_openai::cl100k_base().bpe,
            Encoding::O200kBase => &bpe_openai::o200k_base().bpe,
            Encoding::P50kBase => {
                return tiktoken_rs::p50k_base_singleton().decode_bytes(tokens).ok()
            }
            Encoding::R50kBase => {
                return tiktoken_rs::r50k_base_singleton().decode_bytes(tokens).ok()
            }
        };
        let mut out = Vec::with_capacity(tokens.len() * 4);
        for &id in tokens {
            if (id as usize) < bpe.num_tokens() {
                out.extend_from_slice(bpe.token_bytes(id));
            } else {
                out.extend_from_slice(self.special_token(id)?.as_bytes());
            }
        }
        Some(out)
    }

    /// tiktoken `decode`: bytes to text with invalid UTF-8 replaced by U+FFFD.
    pub fn decode(self, tokens: &[u32]) -> Option<String> {
        self.decode_bytes(tokens)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    fn special_token(self, id: u32) -> Option<&'static str> {
        let table: &[(u32, &str)] = match self {
            Encoding::Cl100kBase => &[
                (100257, "<|endoftext|>"),
                (100258, "<|fim_prefix|>"),
                (100259, "<|fim_middle|>"),
                (100260, "<|fim_suffix|>"),
                (100276, "<|endofprompt|>"),
            ],
            Encoding::O200kBase => &[(199999, "<|endoftext|>"), (200018, "<|endofprompt|>")],
            _ => &[],
        };
        table.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
    }
}

/// Memo of pre-tokenizer pieces (words, mostly): in real text the same pieces recur over
/// and over, and a hash lookup is cheaper than running the BPE on them again. Bounded: a
/// full memo is cleared and refills with what is hot. Pieces are encoded independently
/// of each other, so remembering them cannot change a result.
mod pieces {
    use super::Encoding;
    use std::cell::RefCell;
    use hashbrown::HashMap; // foldhash: several times cheaper than SipHash for short keys

    const MAX_PIECE_BYTES: usize = 24;
    const MAX_ENTRIES: usize = 1 << 17;

    #[derive(Default)]
    struct Memo {
        counts: HashMap<Box<str>, u32>,
        tokens: HashMap<Box<str>, Box<[u32]>>,
    }

    thread_local! {
        static MEMO: RefCell<[Memo; 2]> = RefCell::new(Default::default());
    }

    pub fn count(e: Encoding, piece: &str, compute: impl FnOnce() -> usize) -> usize {
        if piece.len() > MAX_PIECE_BYTES {
            return compute();
        }
        MEMO.with(|m| {
            let memo = &mut m.borrow_mut()[e as usize];
            if let Some(n) = memo.counts.get(piece) {
                return *n as usize;
            }
            let n = compute();
            if memo.counts.len() >= MAX_ENTRIES {
                memo.counts.clear();
            }
            memo.counts.insert(piece.into(), n as u32);
            n
        })
    }

    pub fn encode(e: Encoding, piece: &str, out: &mut Vec<u32>, compute: impl FnOnce() -> Vec<u32>) {
        if piece.len() > MAX_PIECE_BYTES {
            out.extend(compute());
            return;
        }
        MEMO.with(|m| {
            let memo = &mut m.borrow_mut()[e as usize];
            if let Some(t) = memo.tokens.get(piece) {
                out.extend_from_slice(t);
                return;
            }
            let t = compute();
            out.extend_from_slice(&t);
            if memo.tokens.len() >= MAX_ENTRIES {
                memo.tokens.clear();
            }
            memo.tokens.insert(piece.into(), t.into_boxed_slice());
        })
    }
}

/// Token ids packed four bytes each, little-endian, one char per byte (U+0000..U+00FF):
/// a Python host unpacks it with `array("I", s.encode("latin-1"))`.
pub fn pack_tokens(tokens: &[u32]) -> String {
    let mut out = String::with_capacity(tokens.len() * 6);
    for t in tokens {
        for b in t.to_le_bytes() {
            out.push(char::from(b));
        }
    }
    out
}

/// Inverse of `pack_tokens`; None if the string is not a whole number of packed ids.
pub fn unpack_tokens(packed: &str) -> Option<Vec<u32>> {
    // Chars U+0000..U+00FF are one UTF-8 byte (< 0x80) or two (0xC2/0xC3 + continuation):
    // decode those directly instead of going through `chars()`.
    let utf8 = packed.as_bytes();
    let mut bytes = Vec::with_capacity(utf8.len());
    let mut i = 0;
    while i < utf8.len() {
        let b = utf8[i];
        if b < 0x80 {
            bytes.push(b);
            i += 1;
        } else if b == 0xC2 || b == 0xC3 {
            bytes.push(((b & 0x1F) << 6) | (utf8[i + 1] & 0x3F));
            i += 2; // a &str never ends inside a char
        } else {
            return None; // a char above U+00FF
        }
    }
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// tiktoken's model table (`tiktoken.model`), for hosts that do not ask litellm.
pub fn encoding_for_model(model: &str) -> Encoding {
    const EXACT: &[(&str, Encoding)] = &[
        ("gpt-4", Encoding::Cl100kBase),
        ("gpt-3.5-turbo", Encoding::Cl100kBase),
        ("gpt-3.5", Encoding::Cl100kBase),
        ("gpt-35-turbo", Encoding::Cl100kBase),
        ("davinci-002", Encoding::Cl100kBase),
        ("babbage-002", Encoding::Cl100kBase),
        ("text-embedding-ada-002", Encoding::Cl100kBase),
        ("text-embedding-3-small", Encoding::Cl100kBase),
        ("text-embedding-3-large", Encoding::Cl100kBase),
        ("text-davinci-003", Encoding::P50kBase),
        ("text-davinci-002", Encoding::P50kBase),
        ("code-davinci-002", Encoding::P50kBase),
        ("code-davinci-001", Encoding::P50kBase),
        ("code-cushman-002", Encoding::P50kBase),
        ("code-cushman-001", Encoding::P50kBase),
        ("davinci-codex", Encoding::P50kBase),
        ("cushman-codex", Encoding::P50kBase),
        ("text-davinci-001", Encoding::R50kBase),
        ("text-curie-001", Encoding::R50kBase),
        ("text-babbage-001", Encoding::R50kBase),
        ("text-ada-001", Encoding::R50kBase),
        ("davinci", Encoding::R50kBase),
        ("curie", Encoding::R50kBase),
        ("babbage", Encoding::R50kBase),
        ("ada", Encoding::R50kBase),
        ("gpt2", Encoding::R50kBase),
        ("gpt-2", Encoding::R50kBase),
        ("o1", Encoding::O200kBase),
        ("o3", Encoding::O200kBase),
        ("o4-mini", Encoding::O200kBase),
        ("gpt-5", Encoding::O200kBase),
        ("gpt-4.1", Encoding::O200kBase),
        ("gpt-4o", Encoding::O200kBase),
    ];
    const PREFIX: &[(&str, Encoding)] = &[
        ("o1-", Encoding::O200kBase),
        ("o3-", Encoding::O200kBase),
        ("o4-mini-", Encoding::O200kBase),
        ("gpt-5", Encoding::O200kBase),
        ("gpt-4.5-", Encoding::O200kBase),
        ("gpt-4.1-", Encoding::O200kBase),
        ("chatgpt-4o-", Encoding::O200kBase),
        ("gpt-4o-", Encoding::O200kBase),
        ("gpt-4-", Encoding::Cl100kBase),
        ("gpt-3.5-turbo-", Encoding::Cl100kBase),
        ("gpt-35-turbo-", Encoding::Cl100kBase),
        ("ft:gpt-4o", Encoding::O200kBase),
        ("ft:gpt-4", Encoding::Cl100kBase),
        ("ft:gpt-3.5-turbo", Encoding::Cl100kBase),
        ("ft:davinci-002", Encoding::Cl100kBase),
        ("ft:babbage-002", Encoding::Cl100kBase),
    ];
    // litellm's own rule comes first: any name containing gpt-4o is o200k.
    if model.contains("gpt-4o") {
        return Encoding::O200kBase;
    }
    if let Some((_, e)) = EXACT.iter().find(|(m, _)| *m == model) {
        return *e;
    }
    PREFIX
        .iter()
        .find(|(p, _)| model.starts_with(p))
        .map(|(_, e)| *e)
        .unwrap_or(Encoding::Cl100kBase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoised_pieces_give_the_same_tokens() {
        let text = "the cat and the hat and the bat, 12345 the end.\n\n  ";
        for e in [Encoding::Cl100kBase, Encoding::O200kBase] {
            let tok = e.bpe_tokenizer().unwrap();
            let first = e.encode(text);
            assert_eq!(first, tok.encode(text));
            assert_eq!(e.encode(text), first); // second time from the memo
            assert_eq!(e.count(text), tok.count(text));
            assert_eq!(e.count(text), first.len());
        }
    }

    #[test]
    fn packing_round_trips() {
        let ids = vec![0, 1, 255, 256, 100257, 199999, u32::MAX];
        assert_eq!(unpack_tokens(&pack_tokens(&ids)).unwrap(), ids);
        assert!(unpack_tokens("abc").is_none());
        assert!(unpack_tokens("\u{100}\0\0\0").is_none());
        let every_byte: String = (0u8..=255).map(char::from).collect();
        let ids = unpack_tokens(&every_byte).unwrap();
        assert_eq!(pack_tokens(&ids), every_byte);
    }

    #[test]
    fn decode_renders_special_ids_and_rejects_unknown_ones() {
        let e = Encoding::Cl100kBase;
        assert_eq!(e.decode(&[100257]).as_deref(), Some("<|endoftext|>"));
        assert_eq!(e.decode(&[100256]), None);
        assert_eq!(e.decode(&e.encode("héllo wörld")).as_deref(), Some("héllo wörld"));
    }
}
