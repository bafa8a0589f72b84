//! AWS clients, built from one `aws-config` load per instance. `AWS_ENDPOINT_URL` (moto locally,
//! LocalStack for those with Docker) is honoured by `aws-config` itself. Each client is built only
//! when a function asks for it, so a binary links only the SDK crates it uses.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The loaded AWS configuration. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Aws {
    sdk: SdkConfig,
}

impl Aws {
    pub async fn load() -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(10))
            .build();
        let sdk = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await;
        Self { sdk }
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    pub fn sesv2(&self) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::new(&self.sdk)
    }

    /// S3 needs path-style addressing against an emulator (no per-bucket DNS on 127.0.0.1).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.sdk.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}
