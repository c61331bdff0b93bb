//! Files attached to a prompt: `--image PATH` becomes an image block of the user message.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use cuervo_domain::ContentBlock;

use crate::headless::UsageError;

/// Providers reject larger images (Anthropic: 5 MB per image after base64 is about 3.75 MB
/// raw; OpenAI and Gemini allow 20 MB); refuse early with a clear message.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// The media type providers accept for an image file, from its extension.
pub fn image_media_type(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// Reads an image file into an image block.
pub fn image_block(path: &Path) -> Result<ContentBlock> {
    let media_type = image_media_type(path).ok_or_else(|| {
        UsageError(format!(
            "{} is not an image Cuervo can send: use a .png, .jpg, .gif or .webp file",
            path.display()
        ))
    })?;
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the image {}", path.display()))?
        .len();
    if size > MAX_IMAGE_BYTES {
        return Err(UsageError(format!(
            "{} is {} MB; providers accept images up to 20 MB",
            path.display(),
            size / (1024 * 1024)
        ))
        .into());
    }
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the image {}", path.display()))?;
    Ok(ContentBlock::Image {
        media_type: media_type.to_owned(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_by_extension() {
        assert_eq!(image_media_type(Path::new("a.PNG")), Some("image/png"));
        assert_eq!(image_media_type(Path::new("a.jpeg")), Some("image/jpeg"));
        assert_eq!(image_media_type(Path::new("a.txt")), None);
        assert_eq!(image_media_type(Path::new("noext")), None);
    }

    #[test]
    fn reads_and_encodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dot.png");
        std::fs::write(&path, [0x89, b'P', b'N', b'G']).unwrap();
        assert_eq!(
            image_block(&path).unwrap(),
            ContentBlock::Image {
                media_type: "image/png".into(),
                data_base64: "iVBORw==".into()
            }
        );
        let err = image_block(&dir.path().join("x.bmp")).unwrap_err();
        assert!(err.is::<UsageError>(), "{err}");
    }
}
