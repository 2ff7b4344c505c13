//! Image token costs as litellm's `calculate_img_tokens` computes them, for images whose
//! bytes are in the request (data URLs). Anything litellm would download, or bytes it
//! would fail on, is reported as `None` so litellm's own code serves the request.

use crate::count::CountSettings;
use base64::Engine as _;

const BASE_TOKENS: u64 = 85;

/// Tokens for an image in `detail` mode ("low", "high" or "auto").
pub fn image_tokens(url: &str, detail: &str, use_default: bool, s: &CountSettings) -> Option<u64> {
    if use_default {
        return Some(s.default_image_tokens);
    }
    match detail {
        "low" | "auto" => Some(BASE_TOKENS),
        "high" => {
            let (w, h) = dimensions(url, s)?;
            let (rw, rh) = resize_high_res(w, h, s)?;
            let tiles = rw.div_ceil(s.tile_width) * rh.div_ceil(s.tile_height);
            Some(BASE_TOKENS + BASE_TOKENS * 2 * tiles)
        }
        _ => None,
    }
}

/// `get_image_dimensions` for data URLs; None for URLs litellm would fetch.
fn dimensions(data: &str, s: &CountSettings) -> Option<(u64, u64)> {
    if data.starts_with("http://") || data.starts_with("https://") {
        return None;
    }
    let (_, encoded) = data.split_once(',')?;
    // Python's b64decode also accepts sloppy input; strict success means the same bytes.
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let b = bytes.as_slice();
    let slice = |from: usize, to: usize| -> Option<&[u8]> { b.get(from..to) };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        let d = slice(16, 24)?;
        return Some((be32(&d[0..4]), be32(&d[4..8])));
    }
    if b.starts_with(b"GIF8") && b.get(5) == Some(&b'a') {
        let d = slice(6, 10)?;
        return Some((le16(&d[0..2]), le16(&d[2..4])));
    }
    if b.starts_with(b"\xff\xd8\xff") {
        return jpeg_dimensions(b);
    }
    if b.get(4..8) == Some(b"ftyp") {
        return Some((s.default_image_width, s.default_image_height));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        match b.get(12..16) {
            Some(b"VP8X") => {
                let w = slice(24, 27)?;
                let h = slice(27, 30)?;
                return Some((le24(w) + 1, le24(h) + 1));
            }
            Some(b"VP8 ") => {
                let d = slice(26, 30)?;
                return Some((le16(&d[0..2]) & 0x3FFF, le16(&d[2..4]) & 0x3FFF));
            }
            Some(b"VP8L") => {
                let d = slice(21, 25)?;
                let bits = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as u64;
                return Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1));
            }
            _ => {}
        }
    }
    Some((s.default_image_width, s.default_image_height))
}

/// litellm's JPEG marker walk, step for step (it reads through a BytesIO).
fn jpeg_dimensions(b: &[u8]) -> Option<(u64, u64)> {
    let mut pos: i64 = 0;
    let mut size: i64 = 2;
    let mut ftype: u8 = 0;
    let read = |pos: &mut i64, n: usize| -> Option<&[u8]> {
        let start = usize::try_from(*pos).ok()?;
        let out = b.get(start..start + n)?;
        *pos += n as i64;
        Some(out)
    };
    let mut steps = 0;
    while !(0xC0..=0xCF).contains(&ftype) || [0xC4, 0xC8, 0xCC].contains(&ftype) {
        steps += 1;
        if steps > 100_000 {
            return None;
        }
        pos = (pos + size).max(0);
        let mut byte = read(&mut pos, 1)?[0];
        while byte == 0xFF {
            byte = read(&mut pos, 1)?[0];
        }
        ftype = byte;
        let len = read(&mut pos, 2)?;
        size = i64::from(u16::from_be_bytes([len[0], len[1]])) - 2;
    }
    pos += 1;
    let d = read(&mut pos, 4)?;
    let h = u16::from_be_bytes([d[0], d[1]]) as u64;
    let w = u16::from_be_bytes([d[2], d[3]]) as u64;
    Some((w, h))
}

/// `resize_image_high_res`, with Python's float arithmetic and int() truncation.
fn resize_high_res(w: u64, h: u64, s: &CountSettings) -> Option<(u64, u64)> {
    let (short, long) = (s.high_res_short_side, s.high_res_long_side);
    if w <= short && h <= short {
        return Some((w, h));
    }
    let shorter = w.min(h);
    if shorter == 0 {
        return None; // ZeroDivisionError in litellm
    }
    let aspect = w.max(h) as f64 / shorter as f64;
    Some(if w <= h {
        let rw = short;
        let rh = (rw as f64 * aspect) as u64;
        if rh > long {
            (((long as f64) / aspect) as u64, long)
        } else {
            (rw, rh)
        }
    } else {
        let rh = short;
        let rw = (rh as f64 * aspect) as u64;
        if rw > long {
            (long, ((long as f64) / aspect) as u64)
        } else {
            (rw, rh)
        }
    })
}

fn be32(d: &[u8]) -> u64 {
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as u64
}
fn le16(d: &[u8]) -> u64 {
    u16::from_le_bytes([d[0], d[1]]) as u64
}
fn le24(d: &[u8]) -> u64 {
    u32::from_le_bytes([d[0], d[1], d[2], 0]) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> String {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(b))
    }

    #[test]
    fn high_detail_tiles() {
        let s = CountSettings::default();
        // 1024x1024 -> 768x768 -> 2x2 tiles -> 85 + 170*4
        assert_eq!(image_tokens(&png(1024, 1024), "high", false, &s), Some(765));
        assert_eq!(image_tokens(&png(1024, 1024), "low", false, &s), Some(85));
        assert_eq!(image_tokens("https://x/y.png", "high", false, &s), None);
        assert_eq!(image_tokens("https://x/y.png", "auto", true, &s), Some(250));
    }
}
