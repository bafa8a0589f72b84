//! Field-mapping profiles: how a custom channel's own payload becomes an order (the rules are
//! described in `model::profiles`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::identity::Principal;
use crate::orders::model::{Preview, PreviewRequest, Profile, Rules};
use crate::orders::service::profiles as service;
use crate::platform::audit::{self, Entry};
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, path_id};
use crate::platform::state::AppState;

/// Saves a new version of a channel's field-mapping profile.
#[utoipa::path(post, path = "/api/v1/channels/{id}/profiles", operation_id = "profiles_create", tag = "orders",
    params(("id" = Uuid, Path, description = "Channel id")), request_body = Rules, security(("bearer" = [])),
    responses(
        (status = 201, description = "The new version", body = Profile),
        (status = 404, description = "No such channel", body = crate::Problem),
        (status = 422, description = "A rule that cannot work (path, field, transform)", body = crate::Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(rules): ApiJson<Rules>,
) -> Result<(StatusCode, Json<Profile>), ApiError> {
    let channel = path_id(&id, "a channel")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let made =
        service::create(&tx, principal.tenant, channel, rules, principal.user_id, principal.now).await?;
    audit::record(
        &tx,
        &principal,
        Entry::new("profile.created", "field_mapping_profile", made.id).after(&made),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Runs a profile (the channel's newest, or the rules given) on a sample payload: the order it
/// reads, or the exact rule that fails (422). Writes nothing.
#[utoipa::path(post, path = "/api/v1/channels/{id}/profiles/preview", operation_id = "profiles_preview", tag = "orders",
    params(("id" = Uuid, Path, description = "Channel id")), request_body = PreviewRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "What the profile reads", body = Preview),
        (status = 404, description = "No such channel, or it has no profile", body = crate::Problem),
        (status = 422, description = "The failing rule", body = crate::Problem),
    ))]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let channel = path_id(&id, "a channel")?;
    let mut conn = state.db().await?.conn().await?;
    let tx = principal.tx(&mut conn).await?;
    let preview = service::preview(&tx, channel, req.rules, &req.payload).await?;
    tx.commit().await?;
    Ok(Json(preview))
}
