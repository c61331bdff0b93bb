//! Small helpers the format modules share: images in data URLs, media types of bare
//! base64 images, and the mock's deterministic embeddings.

/// `data:{media_type};base64,{data}` → `(media_type, data)`; `None` for other URLs.
pub(crate) fn parse_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (media_type, data) = rest.split_once(";base64,")?;
    Some((media_type.to_string(), data.to_string()))
}

/// The media type of a base64 image by its first bytes (Ollama sends images without one).
pub(crate) fn sniff_media_type(data_base64: &str) -> &'static str {
    if data_base64.starts_with("iVBOR") {
        "image/png"
    } else if data_base64.starts_with("/9j/") {
        "image/jpeg"
    } else if data_base64.starts_with("R0lGOD") {
        "image/gif"
    } else if data_base64.starts_with("UklGR") {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

/// The number of dimensions of [`mock_embedding`] vectors.
pub const EMBEDDING_DIMENSIONS: usize = 8;

/// The vector every embeddings endpoint of the mock returns for `text`: a unit vector
/// derived from an FNV-1a hash of the text, so equal texts get equal vectors.
pub fn mock_embedding(text: &str) -> Vec<f32> {
    let mut values: Vec<f32> = (0..EMBEDDING_DIMENSIONS as u64)
        .map(|i| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ i;
            for byte in text.bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            (hash % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for v in &mut values {
            *v /= norm;
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_and_sniffing() {
        assert_eq!(
            parse_data_url("data:image/png;base64,iVBORw0KGgo="),
            Some(("image/png".into(), "iVBORw0KGgo=".into()))
        );
        assert_eq!(parse_data_url("https://example.com/a.png"), None);
        assert_eq!(sniff_media_type("iVBORw0KGgo="), "image/png");
        assert_eq!(sniff_media_type("/9j/4AAQ"), "image/jpeg");
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = mock_embedding("hello");
        assert_eq!(a, mock_embedding("hello"));
        assert_ne!(a, mock_embedding("world"));
        assert_eq!(a.len(), EMBEDDING_DIMENSIONS);
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
}
