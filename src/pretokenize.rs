//! The pre-tokenizer split of cl100k_base and o200k_base, with ASCII pieces cut by hand.
//!
//! bpe-openai cuts text into pieces with its regex, one anchored search per piece; inside
//! wasm a search costs about half a microsecond, most of what counting a short chat
//! costs. Here a piece whose extent depends on ASCII characters only is cut by the same
//! rules written out (each function below follows one alternative of the pattern, in the
//! pattern's order of preference). A piece whose extent depends on a character outside
//! ASCII (a letter, digit, space or mark of Unicode's classes) is cut by bpe-openai's own
//! regex starting at the same place, which is exactly what bpe-openai does for every
//! piece. The tests compare both splits on generated text.

use bpe_openai::Tokenizer;

/// The split of `text` that `tok.split(text)` gives; `o200k` picks that pattern's rules
/// (false: cl100k_base's).
pub fn split<'a>(tok: &'static Tokenizer, o200k: bool, text: &'a str) -> Splits<'a> {
    Splits { tok, o200k, text, last: 0 }
}

pub struct Splits<'a> {
    tok: &'static Tokenizer,
    o200k: bool,
    text: &'a str,
    last: usize,
}

impl<'a> Iterator for Splits<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.last;
        if start >= self.text.len() {
            return None; // no alternative matches empty text: the regex ends here too
        }
        let bytes = self.text.as_bytes();
        let cut = if self.o200k { o200k_piece(bytes, start) } else { cl100k_piece(bytes, start) };
        let end = match cut {
            Some(end) => end,
            // bpe-openai searches `&text[last..]` anchored at its start: the same search
            None => start + self.tok.split(&self.text[start..]).next()?.len(),
        };
        self.last = end;
        Some(&self.text[start..end])
    }
}

/// What the patterns tell apart, for the characters cut here: one bit each, so a run of
/// several classes is one mask test.
type Class = u8;
const UPPER: Class = 1; // \p{Lu}
const LOWER: Class = 2; // \p{Ll}
const DIGIT: Class = 4; // \p{N}
const SPACE: Class = 8; // \s but \r \n
const NEWLINE: Class = 16; // \r \n
const OTHER: Class = 32; // [^\s\p{L}\p{N}]
const LETTER: Class = UPPER | LOWER;

/// ASCII's classes. `\s` is Unicode White_Space: \t \n \x0b \x0c \r and space (not
/// \x1c-\x1f, which Python's isspace() counts).
const ASCII: [Class; 128] = {
    let mut table = [OTHER; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'A'..=b'Z' => UPPER,
            b'a'..=b'z' => LOWER,
            b'0'..=b'9' => DIGIT,
            b'\r' | b'\n' => NEWLINE,
            9..=13 | b' ' => SPACE,
            _ => OTHER,
        };
        b += 1;
    }
    table
};

/// The class and UTF-8 length of the character at `i`: `Ok(None)` past the end, `Err(())`
/// for a character cut by the regex. Cut here: ASCII, and the letters of Latin-1
/// (U+00C0-U+00FF but × and ÷: upper to U+00DE, lower from U+00DF) and of basic Cyrillic
/// (U+0400-U+045F: upper to U+042F), which are letters of one case with no case folding
/// to ASCII.
fn char_at(s: &[u8], i: usize) -> Result<Option<(Class, usize)>, ()> {
    let Some(&b) = s.get(i) else { return Ok(None) };
    if b < 0x80 {
        return Ok(Some((ASCII[b as usize], 1)));
    }
    if !matches!(b, 0xc3 | 0xd0 | 0xd1) {
        return Err(());
    }
    let Some(&next) = s.get(i + 1) else { return Err(()) };
    let class = match ((b as u32 & 0x1f) << 6) | (next as u32 & 0x3f) {
        0xd7 | 0xf7 => OTHER,
        0xc0..=0xde | 0x400..=0x42f => UPPER,
        0xdf..=0xff | 0x430..=0x45f => LOWER,
        _ => return Err(()), // U+0460 on (0xd1 0xa0..): other Cyrillic
    };
    Ok(Some((class, 2)))
}

fn class_at(s: &[u8], i: usize) -> Result<Option<Class>, ()> {
    Ok(char_at(s, i)?.map(|(class, _)| class))
}

/// End of the run of characters from `i` whose class is in `classes`; None if the run
/// stops at a character cut by the regex (which might belong to it).
fn run_end(s: &[u8], mut i: usize, classes: Class) -> Option<usize> {
    loop {
        let Some(&b) = s.get(i) else { return Some(i) };
        if b < 0x80 {
            // the common case, without char_at's decoding
            if ASCII[b as usize] & classes == 0 {
                return Some(i);
            }
            i += 1;
            continue;
        }
        match char_at(s, i).ok()? {
            Some((class, len)) if class & classes != 0 => i += len,
            _ => return Some(i),
        }
    }
}

/// The ASCII byte at `i`: `Ok(None)` past the end, `Err(())` if it is not ASCII.
fn ascii_at(s: &[u8], i: usize) -> Result<Option<u8>, ()> {
    match s.get(i) {
        None => Ok(None),
        Some(&b) if b >= 0x80 => Err(()),
        Some(&b) => Ok(Some(b)),
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`: Ok(Some(end)), Ok(None) if it does not match.
/// Case-insensitive in Unicode: `ſ` matches `s`, so a non-ASCII letter after the
/// apostrophe is Err.
fn contraction(s: &[u8], i: usize) -> Result<Option<usize>, ()> {
    if s.get(i) != Some(&b'\'') {
        return Ok(None);
    }
    let Some(first) = ascii_at(s, i + 1)? else { return Ok(None) };
    let second = match first.to_ascii_lowercase() {
        b's' | b't' | b'm' | b'd' => return Ok(Some(i + 2)),
        b'r' | b'v' => b'e',
        b'l' => b'l',
        _ => return Ok(None),
    };
    match ascii_at(s, i + 2)? {
        Some(b) if b.to_ascii_lowercase() == second => Ok(Some(i + 3)),
        _ => Ok(None),
    }
}

/// `[^\r\n\p{L}\p{N}]?` then a letter at `p`: where the letters start, or None.
fn word_start(s: &[u8], p: usize, c: Class) -> Result<Option<usize>, ()> {
    if c & LETTER != 0 {
        return Ok(Some(p));
    }
    if c & (SPACE | OTHER) != 0 {
        let len = char_at(s, p)?.map_or(1, |(_, len)| len);
        if let Some(next) = class_at(s, p + len)? {
            if next & LETTER != 0 {
                return Ok(Some(p + len));
            }
        }
    }
    Ok(None)
}

/// `\p{N}{1,3}` at `p` (an ASCII digit).
fn digits(s: &[u8], p: usize) -> Option<usize> {
    let mut e = p + 1;
    while e < p + 3 {
        match class_at(s, e).ok()? {
            Some(DIGIT) => e += 1,
            _ => break,
        }
    }
    Some(e)
}

/// ` ?[^\s\p{L}\p{N}]+` then `tail*` at `p`; Ok(None) if it does not match.
fn punctuation(s: &[u8], p: usize, tail: impl Fn(u8) -> bool) -> Result<Option<usize>, ()> {
    let mut q = p;
    if s[p] == b' ' {
        match class_at(s, p + 1)? {
            Some(OTHER) => q = p + 1,
            _ => return Ok(None), // without the space: a space is not punctuation
        }
    } else if class_at(s, p)? != Some(OTHER) {
        return Ok(None);
    }
    let end = run_end(s, q, OTHER).ok_or(())?;
    // the tail classes are ASCII: any other character simply ends the piece
    let mut e = end;
    while let Some(&b) = s.get(e) {
        if !tail(b) {
            break;
        }
        e += 1;
    }
    Ok(Some(e))
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// The whitespace alternatives, in order: `\s*[\r\n]+`, `\s+$`, `\s+\s` less its
/// look-ahead character, `\s+`. `p` is an ASCII space.
fn whitespace(s: &[u8], p: usize) -> Option<usize> {
    let end = run_end(s, p, SPACE | NEWLINE)?;
    if let Some(last_newline) = s[p..end].iter().rposition(|&b| is_newline(b)) {
        return Some(p + last_newline + 1);
    }
    if end == s.len() || end - p == 1 {
        return Some(end);
    }
    Some(end - 1)
}

/// cl100k_base: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`. None: the regex decides.
fn cl100k_piece(s: &[u8], p: usize) -> Option<usize> {
    let c = class_at(s, p).ok()??;
    if let Some(end) = contraction(s, p).ok()? {
        return Some(end);
    }
    if let Some(q) = word_start(s, p, c).ok()? {
        return run_end(s, q, LETTER);
    }
    if c == DIGIT {
        return digits(s, p);
    }
    if let Some(end) = punctuation(s, p, is_newline).ok()? {
        return Some(end);
    }
    whitespace(s, p)
}

/// o200k_base: `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+
/// (?i:'s|..)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
/// (?i:'s|..)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
fn o200k_piece(s: &[u8], p: usize) -> Option<usize> {
    let c = class_at(s, p).ok()??;
    if let Some(q) = word_start(s, p, c).ok()? {
        // With letters of one case only (Lu or Ll), both word alternatives cover upper
        // case then lower case letters (the first needs a lower case one, the second an
        // upper case one: the letter at q is one of them), then an optional contraction.
        let upper_end = run_end(s, q, UPPER)?;
        let end = run_end(s, upper_end, LOWER)?;
        return Some(contraction(s, end).ok()?.unwrap_or(end));
    }
    if c == DIGIT {
        return digits(s, p);
    }
    if let Some(end) = punctuation(s, p, |b| is_newline(b) || b == b'/').ok()? {
        return Some(end);
    }
    whitespace(s, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator: reproducible text without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    // Every class the patterns tell apart, in and out of ASCII: letters of each case and
    // Lt/Lm/Lo, combining marks, digits and other numbers, White_Space in and out of
    // ASCII (and \x1c, which is not), punctuation and symbols, the contraction letters
    // and the long s that folds to `s`.
    const PIECES: &[&str] = &[
        "a", "e", "z", "A", "E", "Z", "s", "S", "t", "T", "r", "R", "v", "V", "m", "M", "l", "L", "d", "D",
        "'", "'", "'", "0", "1", "9", " ", " ", " ", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c",
        "\x00", "!", ".", ",", "/", "-", "_", "(", ")", "\"", "\x7f", "é", "É", "ß", "ſ", "ǅ", "ʰ",
        "À", "Ö", "×", "Ø", "Þ", "à", "ö", "÷", "ø", "ÿ", "ª", "µ", "º", "¿", "Ā", "Ѐ", "Я", "а", "я",
        "ѐ", "џ", "Ѡ", "ѡ", "҃", "Ω", "ω", "\u{301}", "naïve", "Zürich", "Москва", "ÆRØ",
        "中", "\u{300}", "²", "½", "٣", "\u{a0}", "\u{85}", "\u{2028}", "\u{3000}", "—", "€", "😀",
        "hello", "World", "HTTP", "don't", "I'LL", "we've", " the", "  ", "\r\n", "123456", "...",
    ];

    fn check(encoding: &'static Tokenizer, o200k: bool, text: &str) {
        let ours: Vec<&str> = split(encoding, o200k, text).collect();
        let regex: Vec<&str> = encoding.split(text).collect();
        assert_eq!(ours, regex, "split of {text:?} (o200k: {o200k})");
    }

    #[test]
    fn splits_generated_text_as_the_regex_does() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (tok, o200k) in [(bpe_openai::cl100k_base(), false), (bpe_openai::o200k_base(), true)] {
            for _ in 0..150_000 {
                let len = rng.below(14);
                let text: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
                check(tok, o200k, &text);
            }
        }
    }

    #[test]
    fn splits_every_ascii_pair_and_triple_as_the_regex_does() {
        for (tok, o200k) in [(bpe_openai::cl100k_base(), false), (bpe_openai::o200k_base(), true)] {
            for a in 0u8..128 {
                for b in 0u8..128 {
                    let pair = [a, b];
                    check(tok, o200k, std::str::from_utf8(&pair).unwrap());
                    for c in [b' ', b'a', b'A', b'\'', b's', b'1', b'\n', b'.', b'/', 0xc3] {
                        let triple: Vec<u8> = if c == 0xc3 { vec![a, b, 0xc3, 0xa9] } else { vec![a, b, c] };
                        check(tok, o200k, std::str::from_utf8(&triple).unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn splits_prose_as_the_regex_does() {
        let text = "Hello, World! I'm here; we'll see what THE model's answer's like.\n\n  Code:\n\
                    \tfn main() { let x = 42_000; println!(\"{x}/2\"); }\r\n    // done  \n\
                    URLs like https://example.com/a/b?c=1 and 3.14159 or 1,000,000.  END   ";
        for (tok, o200k) in [(bpe_openai::cl100k_base(), false), (bpe_openai::o200k_base(), true)] {
            check(tok, o200k, text);
        }
    }
}
