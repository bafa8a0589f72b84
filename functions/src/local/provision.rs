//! Creates the template's AWS resources in the emulator: DynamoDB tables (keys, indexes, TTL),
//! EventBridge buses, S3 buckets and secrets. Idempotent: what exists is left as it is. Every name
//! comes from the template resolved against a stack name, so parallel stacks never collide.

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use gateway::platform::aws::Aws;
use serde_yaml::Value;

use super::template::{Resolver, Template};

/// What was provisioned, by kind, as physical names.
#[derive(Debug, Default)]
pub struct Provisioned {
    pub queues: Vec<String>,
    pub rules: Vec<String>,
    pub tables: Vec<String>,
    pub buses: Vec<String>,
    pub buckets: Vec<String>,
    pub secrets: Vec<String>,
}

fn s<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| anyhow!("missing {key}"))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(s(k, "AttributeName")?)
                .key_type(KeyType::from(s(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

/// Local deviations from the template, for tests: a short visibility timeout makes a failed
/// message come back at once instead of after minutes.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub visibility_timeout_seconds: Option<u32>,
}

pub async fn provision(
    aws: &Aws,
    template: &Template,
    r: &Resolver<'_>,
    o: &Overrides,
) -> Result<Provisioned> {
    let mut out = Provisioned::default();
    let ddb = aws.dynamodb();
    for (id, res) in template.resources_of("AWS::DynamoDB::Table") {
        let name = r.physical_name(id)?;
        let props = res.get("Properties").ok_or_else(|| anyhow!("{id}: no Properties"))?;
        create_table(&ddb, &name, props).await.with_context(|| format!("table {id} ({name})"))?;
        out.tables.push(name);
    }
    let events = aws.eventbridge();
    for (id, _) in template.resources_of("AWS::Events::EventBus") {
        let name = r.physical_name(id)?;
        match events.create_event_bus().name(&name).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(e) => return Err(anyhow!(aws_sdk_eventbridge::error::DisplayErrorContext(e))).context(name),
        }
        out.buses.push(name);
    }
    // Queues: dead-letter queues (no redrive policy) before the queues that point at them.
    let sqs = aws.sqs();
    let mut queues: Vec<_> = template.resources_of("AWS::SQS::Queue").collect();
    queues.sort_by_key(|(_, q)| q.get("Properties").and_then(|p| p.get("RedrivePolicy")).is_some());
    for (id, res) in queues {
        let name = r.physical_name(id)?;
        create_queue(&sqs, &name, res.get("Properties"), r, o)
            .await
            .with_context(|| format!("queue {id} ({name})"))?;
        out.queues.push(name);
    }
    for (id, res) in template.resources_of("AWS::Events::Rule") {
        let props = res.get("Properties").ok_or_else(|| anyhow!("{id}: no Properties"))?;
        // Schedule rules never fire in the emulator; the runner fires scheduled functions itself.
        let Some(pattern) = props.get("EventPattern") else { continue };
        let name = r.physical_name(id)?;
        let bus =
            props.get("EventBusName").map(|b| r.resolve(b)).transpose()?.unwrap_or_else(|| "default".into());
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&bus)
            .event_pattern(serde_json::to_string(pattern)?)
            .state(aws_sdk_eventbridge::types::RuleState::Enabled)
            .send()
            .await
            .map_err(|e| anyhow!(aws_sdk_eventbridge::error::DisplayErrorContext(e)))
            .with_context(|| format!("rule {id}"))?;
        let mut targets = events.put_targets().rule(&name).event_bus_name(&bus);
        for t in props.get("Targets").and_then(Value::as_sequence).into_iter().flatten() {
            targets = targets.targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id(r.resolve(t.get("Id").ok_or_else(|| anyhow!("{id}: target Id"))?)?)
                    .arn(r.resolve(t.get("Arn").ok_or_else(|| anyhow!("{id}: target Arn"))?)?)
                    .build()?,
            );
        }
        targets.send().await.map_err(|e| anyhow!(aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
        out.rules.push(name);
    }
    let s3 = aws.s3();
    for (id, _) in template.resources_of("AWS::S3::Bucket") {
        let name = r.physical_name(id)?;
        match s3.create_bucket().bucket(&name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) => {}
            Err(e) => return Err(anyhow!(aws_sdk_s3::error::DisplayErrorContext(e))).context(name),
        }
        out.buckets.push(name);
    }
    let sm = aws.secretsmanager();
    for (id, res) in template.resources_of("AWS::SecretsManager::Secret") {
        let name = r.physical_name(id)?;
        // A local secret gets its template SecretString, or a random value where the template
        // asks Secrets Manager to generate one.
        let value = match res.get("Properties").and_then(|p| p.get("SecretString")) {
            Some(v) => r.resolve(v)?,
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        match sm.create_secret().name(&name).secret_string(value).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {}
            Err(e) => {
                return Err(anyhow!(aws_sdk_secretsmanager::error::DisplayErrorContext(e))).context(name);
            }
        }
        out.secrets.push(name);
    }
    // The access-token key rings start empty ("{}"); in AWS the first rotate-signing-keys run gives
    // them a key, here provisioning does.
    if template.resource(SIGNING_KEYS).is_some() && template.resource(VERIFICATION_KEYS).is_some() {
        let (signing, verification) = (r.physical_name(SIGNING_KEYS)?, r.physical_name(VERIFICATION_KEYS)?);
        gateway::identity::keys::ensure_initialized(&sm, &signing, &verification, chrono::Utc::now())
            .await
            .map_err(|e| anyhow!("{SIGNING_KEYS}: {e}"))?;
    }
    Ok(out)
}

/// The template's private and public key-ring secrets (logical ids).
pub const SIGNING_KEYS: &str = "SigningKeysSecret";
pub const VERIFICATION_KEYS: &str = "VerificationKeysSecret";

async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str, props: &Value) -> Result<()> {
    let attrs = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|a| {
            Ok(AttributeDefinition::builder()
                .attribute_name(s(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(s(a, "AttributeType")?))
                .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut req = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attrs))
        .set_key_schema(Some(key_schema(props.get("KeySchema").ok_or_else(|| anyhow!("no KeySchema"))?)?));
    for gsi in props.get("GlobalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
        let projection = gsi
            .get("Projection")
            .and_then(|p| p.get("ProjectionType"))
            .and_then(Value::as_str)
            .unwrap_or("ALL");
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(s(gsi, "IndexName")?)
                .set_key_schema(Some(key_schema(
                    gsi.get("KeySchema").ok_or_else(|| anyhow!("GSI KeySchema"))?,
                )?))
                .projection(Projection::builder().projection_type(ProjectionType::from(projection)).build())
                .build()?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => return Err(anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) {
            let spec = TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(s(ttl, "AttributeName")?)
                .build()?;
            ddb.update_time_to_live()
                .table_name(name)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        }
    }
    Ok(())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    props: Option<&Value>,
    r: &Resolver<'_>,
    o: &Overrides,
) -> Result<()> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut req = sqs.create_queue().queue_name(name);
    let prop = |k: &str| props.and_then(|p| p.get(k));
    for (key, attr) in [
        ("VisibilityTimeout", A::VisibilityTimeout),
        ("MessageRetentionPeriod", A::MessageRetentionPeriod),
        ("DelaySeconds", A::DelaySeconds),
        ("ReceiveMessageWaitTimeSeconds", A::ReceiveMessageWaitTimeSeconds),
    ] {
        if let Some(v) = prop(key) {
            req = req.attributes(attr, r.resolve(v)?);
        }
    }
    if let Some(v) = o.visibility_timeout_seconds {
        req = req.attributes(A::VisibilityTimeout, v.to_string());
    }
    if let Some(policy) = prop("RedrivePolicy") {
        let target =
            r.resolve(policy.get("deadLetterTargetArn").ok_or_else(|| anyhow!("deadLetterTargetArn"))?)?;
        let max: u32 =
            r.resolve(policy.get("maxReceiveCount").ok_or_else(|| anyhow!("maxReceiveCount"))?)?.parse()?;
        let json = serde_json::json!({ "deadLetterTargetArn": target, "maxReceiveCount": max });
        req = req.attributes(A::RedrivePolicy, json.to_string());
    }
    let attributes = req.get_attributes().clone();
    match req.send().await {
        Ok(_) => Ok(()),
        // Re-provisioning with other attributes (an override): update them in place.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_queue_name_exists()) => {
            let url =
                sqs.get_queue_url().queue_name(name).send().await?.queue_url().unwrap_or_default().to_owned();
            sqs.set_queue_attributes().queue_url(url).set_attributes(attributes).send().await?;
            Ok(())
        }
        Err(e) => Err(anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e))),
    }
}
