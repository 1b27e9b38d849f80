//! [`S3Options`]: what the datasource model does not say yet (region,
//! addressing style) and how hard to try (time-outs, retries, part size).

use std::time::Duration;

/// The smallest part S3 accepts in a multipart upload (all parts but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Settings of a [`crate::BackupStore`] beyond the datasource's endpoint and
/// bucket. Build with [`S3Options::default`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct S3Options {
    /// Signing region; default `us-east-1` (what S3-compatible servers expect
    /// when they have no regions).
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`) rather than virtual-hosted
    /// (`bucket.endpoint/key`). `None` (the default): on when the datasource
    /// names an endpoint (MinIO, Ceph, Garage and most S3-compatible servers
    /// want it), off for AWS itself.
    pub path_style: Option<bool>,
    /// Whether an `http://` endpoint is accepted (default `false`: an
    /// unencrypted endpoint is refused as `Invalid`). Tests on loopback set it.
    pub allow_http: bool,
    /// Size of each part of a multipart upload; bodies up to this size go up in
    /// one PUT. Default 8 MiB, at least [`MIN_PART_SIZE`].
    pub part_size: usize,
    /// Parts uploaded at once (default 4); memory held is about
    /// `part_size × (upload_concurrency + 1)`.
    pub upload_concurrency: usize,
    /// Retries of one request on transport errors and 5xx (default 3).
    pub max_retries: usize,
    /// How long one request's retries may go on (default 60 s).
    pub retry_timeout: Duration,
    /// Time-out of one HTTP request (default 120 s: one part of a large body).
    pub request_timeout: Duration,
    /// Time-out of opening a connection (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            region: "us-east-1".to_owned(),
            path_style: None,
            allow_http: false,
            part_size: 8 * 1024 * 1024,
            upload_concurrency: 4,
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl S3Options {
    /// Sets the signing region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Forces path-style (`true`) or virtual-hosted (`false`) addressing.
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = Some(path_style);
        self
    }

    /// Accepts an `http://` endpoint.
    pub fn with_allow_http(mut self, allow_http: bool) -> Self {
        self.allow_http = allow_http;
        self
    }

    /// Sets the multipart part size (raised to [`MIN_PART_SIZE`] if smaller).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// Uploads at most `parts` parts of one body at once (at least 1).
    pub fn with_upload_concurrency(mut self, parts: usize) -> Self {
        self.upload_concurrency = parts.max(1);
        self
    }

    /// Sets the number of retries of one request and how long they may take.
    pub fn with_retries(mut self, max_retries: usize, retry_timeout: Duration) -> Self {
        self.max_retries = max_retries;
        self.retry_timeout = retry_timeout;
        self
    }

    /// Sets the request and connect time-outs.
    pub fn with_timeouts(mut self, request: Duration, connect: Duration) -> Self {
        self.request_timeout = request;
        self.connect_timeout = connect;
        self
    }
}
