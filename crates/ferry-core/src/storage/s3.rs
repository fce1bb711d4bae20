//! Files as objects in an S3-compatible bucket (cargo feature `s3`), so
//! that several ferryd nodes can serve the same files.
//!
//! A user's root is the bucket plus a key prefix; a file `/a/b.txt` is the
//! object `<prefix>/a/b.txt`. Object storage has no folders, so:
//!
//! - a folder exists when any key lies beneath it; `MKD` writes an empty
//!   marker object (`<folder>/.ferry-dir`, hidden from listings) so that an
//!   empty folder can exist, and `RMD` removes it once nothing else is left;
//! - listings are delimiter listings (`/`): sub-folders are the common
//!   prefixes, files the objects;
//! - `RETR` streams the object with a ranged read from the `REST` offset;
//! - `STOR` streams into a multipart upload, which the store makes visible
//!   only when it completes: a failed or aborted upload leaves nothing, and
//!   an existing object is replaced only by a complete new one. `APPE` and
//!   `REST`+`STOR` copy the kept bytes of the old object into the new
//!   upload first (object stores cannot append);
//! - `RNFR`/`RNTO` copy then delete, object by object: **not atomic** (a
//!   failure midway can leave both names, never neither);
//! - `SIZE`/`MDTM` come from object metadata; `MFMT` and `SITE CHMOD` are
//!   refused (objects carry no settable times or modes);
//! - reads at any offset ([`Storage::open_random`]) are one ranged GET
//!   each; positional writes on an upload are taken only in sequence (a
//!   multipart upload cannot go back).
//!
//! [`object_store`] is async; the [`Storage`] trait is blocking and is
//! called on tokio's blocking pool, so each call here waits on the runtime
//! with [`Handle::block_on`].

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use ferry_proto::VirtualPath;
use ferry_proto::listing::Kind;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, PutPayload, RetryConfig, WriteMultipart};
use tokio::runtime::Handle;

use super::{Capabilities, Detail, Entries, FileInfo, ReadAt, ReadHandle, Storage, StorageError, Upload, WriteMode};

mod streams;

use streams::{MultipartUpload, ObjectReadAt, ObjectReader};

/// The empty object that keeps an otherwise empty folder in existence.
pub const DIR_MARKER: &str = super::FOLDER_MARKER;

/// Multipart part size: S3's minimum is 5 MiB for every part but the last.
const PART: usize = 8 << 20;

/// Parts uploading at once per transfer (memory: `PART` each).
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bucket is and how to reach it. Credentials come from the
/// standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment
/// variables (never from the config file, never logged).
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix under which the served tree lives ("" for the whole bucket).
    pub prefix: String,
    /// Endpoint URL of an S3-compatible server (`http://127.0.0.1:9000`);
    /// none for AWS itself.
    pub endpoint: Option<String>,
    /// Region (S3-compatible servers usually accept any; AWS needs the right one).
    pub region: String,
    /// Access key and secret, when not taken from the environment (for
    /// programs and tests that configure the store themselves).
    pub credentials: Option<(String, String)>,
    /// How long one request may take, and how long a failing request is
    /// retried before the error reaches the client.
    pub timeouts: S3Timeouts,
}

/// Deadlines for requests to the store: a frozen store (accepting
/// connections, answering nothing) must end in an error reply too.
#[derive(Debug, Clone, Copy)]
pub struct S3Timeouts {
    /// One request, from connecting to the last byte of its answer. Long
    /// enough for an 8 MiB part over a slow link.
    pub request: std::time::Duration,
    /// Retrying a failing request stops this long after its first try.
    pub retry_for: std::time::Duration,
}

impl Default for S3Timeouts {
    fn default() -> Self {
        S3Timeouts { request: std::time::Duration::from_secs(30), retry_for: std::time::Duration::from_secs(10) }
    }
}

/// A [`Storage`] in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Storage {
    store: Arc<AmazonS3>,
    /// Key prefix of this storage's root, without slashes at either end.
    prefix: String,
    rt: Handle,
}

impl S3Storage {
    /// Connect (lazily: the first request reaches the server) with
    /// `settings`, on the current tokio runtime.
    pub fn open(settings: &S3Settings) -> Result<S3Storage, StorageError> {
        // Retrying until `retry_for` has passed bridges a store that is
        // restarting or failing over (object_store's jittered backoff makes
        // a count of retries an unreliable measure of time, so the count
        // is only a backstop). An FTP client waits on every request, so a
        // store that stays down must still surface as an error reply well
        // within the clients' own timeouts (usually 30 s or more).
        let backoff = object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(1),
            base: 2.0,
        };
        let retry = RetryConfig { max_retries: 100, retry_timeout: settings.timeouts.retry_for, backoff };
        let client = object_store::ClientOptions::new()
            .with_timeout(settings.timeouts.request)
            .with_connect_timeout(settings.timeouts.request.min(std::time::Duration::from_secs(5)));
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_retry(retry)
            .with_client_options(client);
        if let Some((key, secret)) = &settings.credentials {
            b = b.with_access_key_id(key).with_secret_access_key(secret);
        }
        if let Some(endpoint) = &settings.endpoint {
            // S3-compatible servers on a plain address: path-style requests
            // (no bucket-name subdomain), and plain HTTP only if asked for.
            b = b.with_endpoint(endpoint).with_virtual_hosted_style_request(false).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = b.build().map_err(object_error)?;
        let rt = Handle::try_current().map_err(|_| StorageError::Io(io::Error::other("S3 storage needs a tokio runtime")))?;
        Ok(S3Storage { store: Arc::new(store), prefix: settings.prefix.trim_matches('/').to_owned(), rt })
    }

    /// The object key of a virtual path. Paths through a reserved name (a
    /// folder marker) are refused: no command may touch those objects.
    fn key(&self, path: &VirtualPath) -> Result<Path, StorageError> {
        if super::is_reserved(path) {
            return Err(StorageError::InvalidName);
        }
        let joined = match (self.prefix.as_str(), path.relative()) {
            ("", rel) => rel.to_owned(),
            (prefix, "") => prefix.to_owned(),
            (prefix, rel) => format!("{prefix}/{rel}"),
        };
        // Names object_store cannot express as a key (control characters,
        // backslashes) are refused rather than silently rewritten.
        Path::parse(&joined).map_err(|_| StorageError::InvalidName)
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn head(&self, key: &Path) -> Result<Option<ObjectMeta>, StorageError> {
        match self.block_on(self.store.head(key)) {
            Ok(m) => Ok(Some(m)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => {
                // Servers that keep objects as files (s3s-fs) fail a HEAD of
                // a key that was once a folder instead of answering 404. A
                // listing of the parent settles it; if the store is really
                // failing, that fails too and the error stands.
                let parts: Vec<_> = key.parts().collect();
                let parent = Path::from_iter(parts[..parts.len().saturating_sub(1)].iter().cloned());
                let prefix = (!parent.as_ref().is_empty()).then_some(&parent);
                match self.block_on(self.store.list_with_delimiter(prefix)) {
                    Ok(listed) if !listed.objects.iter().any(|m| &m.location == key) => Ok(None),
                    _ => Err(object_error(e)),
                }
            }
        }
    }

    /// Is there any key beneath `key` (marker included)? The first page of
    /// a recursive listing answers it.
    fn has_children(&self, key: &Path) -> Result<Option<ObjectMeta>, StorageError> {
        let prefix = (!key.as_ref().is_empty()).then_some(key);
        let mut list = self.store.list(prefix);
        match self.block_on(list.next()) {
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(e)) => Err(object_error(e)),
            None => Ok(None),
        }
    }

    fn is_dir(&self, path: &VirtualPath, key: &Path) -> Result<bool, StorageError> {
        Ok(path.is_root() || self.has_children(key)?.is_some())
    }

    /// What is at `key`. Folders are looked for first: some S3-compatible
    /// servers that keep objects as files (s3s-fs) answer a HEAD of a
    /// "folder" key with an error instead of 404.
    fn lookup(&self, path: &VirtualPath, key: &Path) -> Result<Found, StorageError> {
        if path.is_root() {
            return Ok(Found::Dir(None));
        }
        if let Some(m) = self.has_children(key)? {
            // The marker's time is the folder's creation; otherwise unknown.
            let modified = (m.location.filename() == Some(DIR_MARKER)).then(|| m.last_modified.into());
            return Ok(Found::Dir(modified));
        }
        Ok(match self.head(key)? {
            Some(m) => Found::File(m),
            None => Found::Missing,
        })
    }

    /// Every object beneath `key`, recursively.
    fn all_below(&self, key: &Path) -> Result<Vec<ObjectMeta>, StorageError> {
        let prefix = (!key.as_ref().is_empty()).then_some(key);
        let list = self.store.list(prefix);
        self.block_on(list.collect::<Vec<_>>()).into_iter().map(|r| r.map_err(object_error)).collect()
    }

    fn file_info(name: String, m: &ObjectMeta) -> FileInfo {
        FileInfo {
            name,
            kind: Kind::File,
            size: m.size,
            modified: Some(m.last_modified.into()),
            mode: 0o644,
            unique: None,
            link_target: None,
        }
    }

    fn dir_info(name: String, modified: Option<SystemTime>) -> FileInfo {
        FileInfo { name, kind: Kind::Dir, size: 0, modified, mode: 0o755, unique: None, link_target: None }
    }

    /// A new multipart upload to `key`, first filled with the first `keep`
    /// bytes of the existing object (for `APPE` and `REST`+`STOR`).
    fn start_upload(&self, key: &Path, keep: Option<u64>) -> Result<Box<dyn Upload>, StorageError> {
        let upload = self.block_on(self.store.put_multipart(key)).map_err(object_error)?;
        let mut writer = {
            // WriteMultipart spawns its part uploads on the runtime.
            let _guard = self.rt.enter();
            WriteMultipart::new_with_chunk_size(upload, PART)
        };
        if let Some(keep) = keep.filter(|&k| k > 0) {
            let opts = GetOptions { range: Some(GetRange::Bounded(0..keep)), ..GetOptions::default() };
            let copied = self.block_on(async {
                let mut stream = self.store.get_opts(key, opts).await?.into_stream();
                while let Some(chunk) = stream.next().await {
                    writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                    let _guard = self.rt.enter();
                    writer.write(&chunk?);
                }
                Ok::<_, object_store::Error>(())
            });
            if let Err(e) = copied {
                let _ = self.block_on(writer.abort());
                return Err(object_error(e));
            }
        }
        Ok(Box::new(MultipartUpload { writer: Some(writer), rt: self.rt.clone(), written: keep.unwrap_or(0) }))
    }

    fn check_name(path: &VirtualPath) -> Result<(), StorageError> {
        match path.file_name() {
            Some(DIR_MARKER) => Err(StorageError::InvalidName),
            _ => Ok(()),
        }
    }
}

/// What a key names.
enum Found {
    File(ObjectMeta),
    /// A folder, with its marker's time when it has one.
    Dir(Option<SystemTime>),
    Missing,
}

/// The last component of an object key, as the client should see it.
fn last_part(p: &Path) -> String {
    p.filename().unwrap_or_default().to_owned()
}

fn object_error(e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::NotFound { .. } => StorageError::NotFound,
        object_store::Error::AlreadyExists { .. } => StorageError::AlreadyExists,
        object_store::Error::InvalidPath { .. } => StorageError::InvalidName,
        // The message names the endpoint, bucket and key: for the log,
        // not for clients.
        other => StorageError::Unavailable(format!("object storage: {other}")),
    }
}

impl Storage for S3Storage {
    fn metadata(&self, path: &VirtualPath) -> Result<FileInfo, StorageError> {
        let name = path.file_name().unwrap_or("/").to_owned();
        match self.lookup(path, &self.key(path)?)? {
            Found::File(m) => Ok(Self::file_info(name, &m)),
            Found::Dir(modified) => Ok(Self::dir_info(name, modified)),
            Found::Missing => Err(StorageError::NotFound),
        }
    }

    fn read_dir(&self, dir: &VirtualPath, _detail: Detail) -> Result<Entries, StorageError> {
        let key = self.key(dir)?;
        match self.lookup(dir, &key)? {
            Found::Dir(_) => {}
            Found::File(_) => return Err(StorageError::NotDirectory),
            Found::Missing => return Err(StorageError::NotFound),
        }
        let prefix = (!key.as_ref().is_empty()).then_some(&key);
        // A delimiter listing pages through the folder; object_store
        // gathers the pages (entries are small: a name and a few numbers).
        let listed = self.block_on(self.store.list_with_delimiter(prefix)).map_err(object_error)?;
        let dirs = listed.common_prefixes.into_iter().map(|p| Ok(Self::dir_info(last_part(&p), None)));
        let files = listed
            .objects
            .into_iter()
            .filter(|m| m.location.filename() != Some(DIR_MARKER))
            .map(|m| Ok(Self::file_info(last_part(&m.location), &m)));
        Ok(Box::new(dirs.chain(files).collect::<Vec<_>>().into_iter()))
    }

    fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError> {
        self.open_download(path, offset).map(|(_, r)| r)
    }

    fn open_download(&self, path: &VirtualPath, offset: u64) -> Result<(u64, ReadHandle), StorageError> {
        let key = self.key(path)?;
        let meta = match self.lookup(path, &key)? {
            Found::File(m) => m,
            Found::Dir(_) => return Err(StorageError::IsDirectory),
            Found::Missing => return Err(StorageError::NotFound),
        };
        if offset >= meta.size {
            // Nothing left to send (S3 refuses an empty range).
            return Ok((meta.size, ReadHandle::Stream(Box::new(io::empty()))));
        }
        let range = (offset > 0).then_some(GetRange::Offset(offset));
        let opts = GetOptions { range, ..GetOptions::default() };
        let got = self.block_on(self.store.get_opts(&key, opts)).map_err(object_error)?;
        let reader = ObjectReader { stream: got.into_stream(), chunk: Bytes::new(), rt: self.rt.clone() };
        Ok((meta.size, ReadHandle::Stream(Box::new(reader))))
    }

    fn open_random(&self, path: &VirtualPath) -> Result<Box<dyn ReadAt>, StorageError> {
        let key = self.key(path)?;
        let size = match self.lookup(path, &key)? {
            Found::File(m) => m.size,
            Found::Dir(_) => return Err(StorageError::IsDirectory),
            Found::Missing => return Err(StorageError::NotFound),
        };
        Ok(Box::new(ObjectReadAt { store: self.store.clone(), key, size, rt: self.rt.clone() }))
    }

    fn open_write(&self, path: &VirtualPath, mode: WriteMode) -> Result<Box<dyn Upload>, StorageError> {
        Self::check_name(path)?;
        if path.is_root() {
            return Err(StorageError::IsDirectory);
        }
        let key = self.key(path)?;
        let existing = match self.lookup(path, &key)? {
            Found::File(m) => Some(m),
            Found::Dir(_) => return Err(StorageError::IsDirectory),
            Found::Missing => None,
        };
        if !self.is_dir(&path.parent(), &self.key(&path.parent())?)? {
            return Err(StorageError::NotFound);
        }
        let size = existing.as_ref().map_or(0, |m| m.size);
        let keep = match mode {
            WriteMode::Replace => None,
            // Front to back only: an update can add to the end.
            WriteMode::Append | WriteMode::Update => Some(size),
            WriteMode::At(offset) if offset <= size => Some(offset),
            WriteMode::At(_) => {
                return Err(StorageError::RestartPastEnd);
            }
        };
        self.start_upload(&key, keep)
    }

    fn create_unique(&self, dir: &VirtualPath, hint: &str) -> Result<(VirtualPath, Box<dyn Upload>), StorageError> {
        let hint = if hint.is_empty() || hint.contains('/') || hint.starts_with('.') { "ferry.upload" } else { hint };
        for n in 0..10_000u32 {
            let name = if n == 0 { hint.to_owned() } else { format!("{hint}.{n}") };
            let path = dir.join(&name).ok_or(StorageError::InvalidName)?;
            let key = self.key(&path)?;
            // Object stores have no exclusive create for multipart uploads:
            // two STOUs racing for one name could both take it.
            if matches!(self.lookup(&path, &key)?, Found::Missing) {
                let upload = self.open_write(&path, WriteMode::Replace)?;
                return Ok((path, upload));
            }
        }
        Err(StorageError::AlreadyExists)
    }

    fn mkdir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        Self::check_name(path)?;
        if path.is_root() {
            return Err(StorageError::AlreadyExists);
        }
        let key = self.key(path)?;
        if !matches!(self.lookup(path, &key)?, Found::Missing) {
            return Err(StorageError::AlreadyExists);
        }
        if !self.is_dir(&path.parent(), &self.key(&path.parent())?)? {
            return Err(StorageError::NotFound);
        }
        self.block_on(self.store.put(&key.child(DIR_MARKER), PutPayload::new())).map_err(object_error)?;
        Ok(())
    }

    fn rmdir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        let key = self.key(path)?;
        let below = self.all_below(&key)?;
        if below.is_empty() {
            return Err(match self.lookup(path, &key)? {
                Found::File(_) => StorageError::NotDirectory,
                _ => StorageError::NotFound,
            });
        }
        let marker = key.child(DIR_MARKER);
        if below.iter().any(|m| m.location != marker) {
            return Err(StorageError::NotEmpty);
        }
        self.block_on(self.store.delete(&marker)).map_err(object_error)
    }

    fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError> {
        let key = self.key(path)?;
        match self.lookup(path, &key)? {
            Found::File(_) => self.block_on(self.store.delete(&key)).map_err(object_error),
            Found::Dir(_) => Err(StorageError::IsDirectory),
            Found::Missing => Err(StorageError::NotFound),
        }
    }

    fn rename(&self, from: &VirtualPath, to: &VirtualPath, replace: bool) -> Result<(), StorageError> {
        if from.is_root() || to.is_root() {
            return Err(StorageError::PermissionDenied);
        }
        Self::check_name(to)?;
        let (src, dst) = (self.key(from)?, self.key(to)?);
        let target = self.lookup(to, &dst)?;
        match self.lookup(from, &src)? {
            Found::Missing => return Err(StorageError::NotFound),
            Found::File(_) => {
                if matches!(target, Found::Dir(_)) {
                    return Err(StorageError::IsDirectory);
                }
                // Object stores have no atomic "rename unless it exists":
                // this check and the copy below can race another client.
                if !replace && matches!(target, Found::File(_)) {
                    return Err(StorageError::AlreadyExists);
                }
                self.block_on(self.store.copy(&src, &dst)).map_err(object_error)?;
                return self.block_on(self.store.delete(&src)).map_err(object_error);
            }
            Found::Dir(_) => {}
        }
        if !matches!(target, Found::Missing) {
            return Err(StorageError::AlreadyExists);
        }
        let below = self.all_below(&src)?;
        if dst.prefix_matches(&src) {
            // Into itself.
            return Err(StorageError::InvalidName);
        }
        // Copy everything first, delete after: a failure midway leaves
        // both trees, never neither.
        for m in &below {
            let rest: Vec<_> = m.location.prefix_match(&src).map(|parts| parts.collect()).unwrap_or_default();
            let target = rest.into_iter().fold(dst.clone(), |p, part| p.child(part));
            self.block_on(self.store.copy(&m.location, &target)).map_err(object_error)?;
        }
        for m in &below {
            self.block_on(self.store.delete(&m.location)).map_err(object_error)?;
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { set_modified: false, set_accessed: false, set_mode: false, read_at: true, write_at: false }
    }

    fn set_modified(&self, _path: &VirtualPath, _time: SystemTime) -> Result<(), StorageError> {
        Err(StorageError::Unsupported("object storage keeps no settable modification times"))
    }

    fn set_mode(&self, _path: &VirtualPath, _mode: u32) -> Result<(), StorageError> {
        Err(StorageError::Unsupported("object storage keeps no Unix modes"))
    }

    fn scoped(&self, home: &VirtualPath) -> Result<Arc<dyn Storage>, StorageError> {
        let key = self.key(home)?;
        if !home.is_root() && self.has_children(&key)?.is_none() {
            self.block_on(self.store.put(&key.child(DIR_MARKER), PutPayload::new())).map_err(object_error)?;
        }
        Ok(Arc::new(S3Storage { store: self.store.clone(), prefix: key.as_ref().to_owned(), rt: self.rt.clone() }))
    }

    fn usage(&self, dir: &VirtualPath) -> Result<(u64, u64), StorageError> {
        let files: Vec<_> = self.all_below(&self.key(dir)?)?.into_iter().filter(|m| m.location.filename() != Some(DIR_MARKER)).collect();
        Ok((files.iter().map(|m| m.size).sum(), files.len() as u64))
    }
}
