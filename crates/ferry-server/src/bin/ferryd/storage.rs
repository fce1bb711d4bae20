//! The files `ferryd` serves: a local folder (created if missing), or an
//! S3 bucket when `s3-bucket` is set, reached once at start so that a
//! wrong endpoint or key fails then.

use std::sync::Arc;

use anyhow::Context;
use ferry_server::storage::Storage;
use ferry_server::storage::local::LocalStorage;

use super::options::Options;

/// The local folder, or the S3 bucket when one is configured.
pub(crate) fn open(args: &Options) -> anyhow::Result<Arc<dyn Storage>> {
    if let Some(bucket) = &args.s3_bucket {
        return open_s3(args, bucket);
    }
    if !args.root.exists() {
        std::fs::create_dir_all(&args.root).with_context(|| format!("creating the root folder {}", args.root.display()))?;
    }
    let storage = LocalStorage::open(&args.root).with_context(|| format!("opening the root folder {}", args.root.display()))?;
    Ok(Arc::new(storage))
}

#[cfg(feature = "s3")]
fn open_s3(args: &Options, bucket: &str) -> anyhow::Result<Arc<dyn Storage>> {
    use ferry_server::storage::s3::{S3Settings, S3Storage};
    let settings = S3Settings {
        bucket: bucket.to_owned(),
        prefix: args.s3_prefix.clone(),
        endpoint: args.s3_endpoint.clone(),
        region: args.s3_region.clone(),
        credentials: None,
        timeouts: Default::default(),
    };
    let storage = S3Storage::open(&settings).with_context(|| format!("configuring the S3 bucket {bucket}"))?;
    // Reach the bucket now, so that a wrong endpoint or key fails at start.
    storage.list(&ferry_proto::VirtualPath::root()).with_context(|| {
        format!("listing s3://{bucket}/{}: check the endpoint, the bucket and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", args.s3_prefix)
    })?;
    Ok(Arc::new(storage))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_args: &Options, bucket: &str) -> anyhow::Result<Arc<dyn Storage>> {
    anyhow::bail!(
        "s3-bucket {bucket:?} is set, but this ferryd was built without S3 support: rebuild with `cargo build --release --features s3`"
    )
}
