//! Images attached to messages: `POST /api/v1/images` stores one, `GET /api/v1/images/{id}`
//! serves it back, and a send's image ids are looked up here before the gateway sees them.
//!
//! Storage is content-addressed: `<data>/images/<sha256 hex>` holds the bytes, and
//! `<sha256 hex>.name` the name it was last uploaded with (the same bytes uploaded twice are one
//! file). The type is sniffed from the bytes (PNG, JPEG, WebP, GIF) and nothing else: neither the
//! name nor the request's Content-Type is ever believed, and the response's `Content-Type` is the
//! sniffed one with `nosniff`, so an upload can never be served as HTML or script. Both routes sit
//! behind the same authentication as the rest of `/api/v1` (the router's middleware). The name is
//! untrusted text: stored and returned raw, escaped where it is shown. This module holds no chat
//! state and never talks to the gateway beyond handing it [`AttachedImage`]s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::wire::ImageRef;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::gateway::{AttachedImage, NewMessage, MAX_IMAGES};

/// The largest image accepted (PRODUCT: 10 MB each).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// The longest name kept, in bytes; a longer one is refused rather than cut mid-character.
pub const MAX_NAME_BYTES: usize = 255;
/// What an upload without a name is called.
const DEFAULT_NAME: &str = "image";
/// Content-addressed, so a URL's bytes never change: a year, immutable.
const CACHE: &str = "private, max-age=31536000, immutable";

/// Why an image could not be stored, found or served.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("The image is larger than 10 MB.")]
    TooLarge,
    #[error("The upload is empty.")]
    Empty,
    #[error("Only PNG, JPEG, WebP and GIF images can be attached.")]
    NotAnImage,
    #[error("An image id is 64 lower-case hexadecimal characters.")]
    BadId,
    #[error("The image name must be at most 255 bytes, without control characters.")]
    BadName,
    #[error("unknown image {0}")]
    Unknown(String),
    #[error("A message may carry at most 8 images.")]
    TooMany,
    #[error("image storage failed: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        match e {
            ImageError::TooLarge => ApiError::TooLarge(e.to_string()),
            ImageError::Unknown(id) => ApiError::BadRequest(format!(
                "Unknown image {id}: upload it with POST /api/v1/images first."
            )),
            ImageError::Io(err) => {
                tracing::error!(error = %err, "image storage failed");
                ApiError::Internal
            }
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// The folder of stored images.
#[derive(Clone, Debug)]
pub struct ImageStore {
    dir: Arc<PathBuf>,
}

impl ImageStore {
    /// Images under `dir` (created on the first upload).
    pub fn new(dir: PathBuf) -> ImageStore {
        ImageStore { dir: Arc::new(dir) }
    }

    /// Stores `bytes` as `name`; the same bytes again are the same image (its name updated).
    pub fn save(&self, name: Option<&str>, bytes: &[u8]) -> Result<ImageRef, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge);
        }
        let name = clean_name(name)?;
        let mime = sniff(bytes).ok_or(ImageError::NotAnImage)?;
        let id = hex::encode(Sha256::digest(bytes));
        std::fs::create_dir_all(self.dir.as_path())?;
        let path = self.dir.join(&id);
        if !path.is_file() {
            write_atomically(&path, bytes)?;
        }
        write_atomically(&self.dir.join(format!("{id}.name")), name.as_bytes())?;
        Ok(ImageRef {
            id,
            name,
            mime: mime.to_owned(),
        })
    }

    /// The stored image `id`: its reference (name and sniffed type) and its absolute path.
    pub fn find(&self, id: &str) -> Result<AttachedImage, ImageError> {
        let path = self.path_of(id)?;
        let head = read_head(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::Unknown(id.to_owned()),
            _ => ImageError::Io(e),
        })?;
        let mime = sniff(&head).ok_or(ImageError::NotAnImage)?;
        let name = std::fs::read_to_string(self.dir.join(format!("{id}.name")))
            .unwrap_or_else(|_| DEFAULT_NAME.to_owned());
        let path = std::path::absolute(&path)?;
        Ok(AttachedImage {
            image: ImageRef {
                id: id.to_owned(),
                name,
                mime: mime.to_owned(),
            },
            path,
        })
    }

    /// Removes stored image `id` (a deleted session's); one already gone is no error.
    pub fn remove(&self, id: &str) -> Result<(), ImageError> {
        let path = self.path_of(id)?;
        for file in [path, self.dir.join(format!("{id}.name"))] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Looks up a send's image ids, in order; at most [`MAX_IMAGES`].
    pub fn attach(&self, ids: &[String]) -> Result<Vec<AttachedImage>, ImageError> {
        if ids.len() > MAX_IMAGES {
            return Err(ImageError::TooMany);
        }
        ids.iter().map(|id| self.find(id)).collect()
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, ImageError> {
        if !valid_id(id) {
            return Err(ImageError::BadId);
        }
        Ok(self.dir.join(id))
    }
}

/// Whether `id` is a SHA-256 in lower-case hex: the only shape that names a stored file, so no
/// id can reach outside the folder.
pub fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The image type of `bytes`, from their first bytes only.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The name to keep: given or the default; never a control character, never too long.
fn clean_name(name: Option<&str>) -> Result<String, ImageError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let Some(name) = name else {
        return Ok(DEFAULT_NAME.to_owned());
    };
    if name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(ImageError::BadName);
    }
    Ok(name.to_owned())
}

/// Enough of a file to sniff its type.
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)?.take(16).read_to_end(&mut head)?;
    Ok(head)
}

/// Writes through a temporary file and a rename, so a reader never sees half an image.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A send as a client framed it (WebSocket or HTTP), with its image ids looked up.
pub fn message(
    store: &ImageStore,
    client_id: &str,
    text: String,
    source: app::wire::Source,
    steer: bool,
    ids: &[String],
) -> Result<NewMessage, ApiError> {
    Ok(NewMessage {
        client_id: client_id.to_owned(),
        text,
        source,
        steer,
        images: store.attach(ids)?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as the person chose it (text only).
    name: Option<String>,
}

/// `POST /api/v1/images?name=…`: the raw bytes of one image as the body (what `fetch` sends for a
/// `File`); answers `201` with its [`ImageRef`].
pub async fn upload(
    State(s): State<AppState>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    // One byte over the limit is enough to know it is too large, without reading the rest.
    let bytes: Bytes = axum::body::to_bytes(body, MAX_IMAGE_BYTES + 1)
        .await
        .map_err(|_| ImageError::TooLarge)?;
    let store = s.images.clone();
    let name = q.name;
    let image = tokio::task::spawn_blocking(move || store.save(name.as_deref(), &bytes))
        .await
        .map_err(|_| ApiError::Internal)??;
    Ok((StatusCode::CREATED, Json(image)).into_response())
}

/// `GET /api/v1/images/{id}`: the stored bytes with their sniffed type.
pub async fn serve(
    State(s): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let found = s.images.find(&id).map_err(|e| match e {
        ImageError::Unknown(_) => ApiError::NotFound("unknown image"),
        other => other.into(),
    })?;
    let bytes = tokio::fs::read(&found.path)
        .await
        .map_err(|e| ApiError::from(ImageError::Io(e)))?;
    let mime = HeaderValue::from_str(&found.image.mime).map_err(|_| ApiError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn types_are_sniffed_from_the_bytes() {
        assert_eq!(sniff(PNG), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a...."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn ids_are_sha256_hex_only() {
        assert!(valid_id(&"a".repeat(64)));
        for bad in [
            "".to_owned(),
            "A".repeat(64),
            "a".repeat(63),
            format!("../{}", "a".repeat(61)),
            format!("{}.name", "a".repeat(59)),
        ] {
            assert!(!valid_id(&bad), "{bad}");
        }
    }

    #[test]
    fn a_png_named_txt_is_stored_as_png_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::new(dir.path().join("images"));
        let saved = store.save(Some("x.txt"), PNG).unwrap();
        assert_eq!(saved.mime, "image/png");
        assert_eq!(saved.name, "x.txt");
        assert_eq!(saved.id, hex::encode(Sha256::digest(PNG)));
        let found = store.find(&saved.id).unwrap();
        assert_eq!(found.image, saved);
        assert!(found.path.is_absolute());
        assert_eq!(std::fs::read(&found.path).unwrap(), PNG);
    }

    #[test]
    fn text_named_png_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::new(dir.path().to_owned());
        assert!(matches!(
            store.save(Some("x.png"), b"just text"),
            Err(ImageError::NotAnImage)
        ));
        assert!(matches!(store.save(None, b""), Err(ImageError::Empty)));
    }

    #[test]
    fn names_are_text_within_limits() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::new(dir.path().to_owned());
        assert_eq!(store.save(None, PNG).unwrap().name, DEFAULT_NAME);
        let hostile = "<img src=x onerror=alert(1)>.png";
        assert_eq!(store.save(Some(hostile), PNG).unwrap().name, hostile);
        for bad in ["a\u{1b}[31m.png".to_owned(), "n".repeat(256)] {
            assert!(matches!(
                store.save(Some(&bad), PNG),
                Err(ImageError::BadName)
            ));
        }
    }

    #[test]
    fn more_than_eight_or_unknown_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::new(dir.path().to_owned());
        let id = store.save(None, PNG).unwrap().id;
        assert_eq!(store.attach(&vec![id.clone(); 8]).unwrap().len(), 8);
        assert!(matches!(
            store.attach(&vec![id; 9]),
            Err(ImageError::TooMany)
        ));
        assert!(matches!(
            store.attach(&["b".repeat(64)]),
            Err(ImageError::Unknown(_))
        ));
        assert!(matches!(
            store.attach(&["../etc/passwd".to_owned()]),
            Err(ImageError::BadId)
        ));
    }
}
