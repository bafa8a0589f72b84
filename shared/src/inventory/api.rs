//! The inventory context's routes: stock levels, receipts and adjustments, alerts, the forecast,
//! the ledger, warehouses, and an order's reservations. Handlers extract, call the service, and
//! map the answer; an [`Error`] becomes a problem here and nowhere else.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::identity::Principal;
use crate::inventory::model::{
    Adjustment, Alerts, Availability, Error, Forecast, ForecastQuery, LevelFilter, LevelView, MovementFilter,
    MovementView, NewWarehouse, OrderStock, Receipt, Warehouse, WarehousePatch,
};
use crate::inventory::service;
use crate::platform::error::ApiError;
use crate::platform::http::{ApiJson, ApiQuery, path_id};
use crate::platform::pagination::{Page, PageQuery};
use crate::platform::state::AppState;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Store(e) => e.into(),
            Error::Db(e) => e.into(),
            Error::Events(e) => e.into(),
            Error::Orders(e) => ApiError::internal(e),
            Error::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// What a receipt or an adjustment did.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockChange {
    /// The level after.
    pub level: LevelView,
    /// Backordered orders the new units filled (now `inventory_reserved`).
    pub filled_orders: Vec<Uuid>,
}

/// Stock levels by SKU and warehouse: the acting tenant's own (a vendor's; every level for
/// platform staff), newest first.
#[utoipa::path(get, path = "/api/v1/inventory", operation_id = "inventory_list", tag = "inventory",
    security(("bearer" = [])), params(LevelFilter, PageQuery),
    responses((status = 200, description = "A page of levels", body = Page<LevelView>),
        (status = 422, description = "A bad filter", body = crate::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<LevelFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<LevelView>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let rows = service::levels(&state, &principal, &filter, limit, cursor).await?;
    Ok(Json(Page::of(rows, limit, |l| l.id)))
}

/// Receives stock at a warehouse (audited); backorders of the SKU fill by themselves, oldest first.
#[utoipa::path(post, path = "/api/v1/inventory/receive", operation_id = "inventory_receive", tag = "inventory",
    security(("bearer" = [])), request_body = Receipt,
    responses((status = 201, description = "Received", body = StockChange),
        (status = 404, description = "No such warehouse of the tenant", body = crate::Problem),
        (status = 422, description = "Invalid receipt", body = crate::Problem)))]
pub async fn receive(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(receipt): ApiJson<Receipt>,
) -> Result<(StatusCode, Json<StockChange>), ApiError> {
    let (level, filled_orders) = service::receive(&state, &principal, &receipt).await?;
    Ok((StatusCode::CREATED, Json(StockChange { level, filled_orders })))
}

/// Adjusts on-hand stock with a reason code (a count, damage, loss...), audited; units added fill
/// backorders like a receipt.
#[utoipa::path(post, path = "/api/v1/inventory/adjust", operation_id = "inventory_adjust", tag = "inventory",
    security(("bearer" = [])), request_body = Adjustment,
    responses((status = 200, description = "Adjusted", body = StockChange),
        (status = 404, description = "No such warehouse of the tenant", body = crate::Problem),
        (status = 409, description = "Fewer units than reserved and committed would remain", body = crate::Problem),
        (status = 422, description = "Invalid adjustment", body = crate::Problem)))]
pub async fn adjust(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(adjustment): ApiJson<Adjustment>,
) -> Result<Json<StockChange>, ApiError> {
    let (level, filled_orders) = service::adjust(&state, &principal, &adjustment).await?;
    Ok(Json(StockChange { level, filled_orders }))
}

/// Low stock (at or under the reorder point) and open backorders.
#[utoipa::path(get, path = "/api/v1/inventory/alerts", operation_id = "inventory_alerts", tag = "inventory",
    security(("bearer" = [])), responses((status = 200, description = "What needs a person", body = Alerts)))]
pub async fn alerts(State(state): State<AppState>, principal: Principal) -> Result<Json<Alerts>, ApiError> {
    Ok(Json(service::alerts(&state, &principal).await?))
}

/// Per SKU: demand forecast by exponential smoothing of the order history, with a suggested
/// reorder quantity and date given the lead time and a 95% safety stock.
#[utoipa::path(get, path = "/api/v1/inventory/forecast", operation_id = "inventory_forecast", tag = "inventory",
    security(("bearer" = [])), params(ForecastQuery),
    responses((status = 200, description = "One forecast per SKU", body = [Forecast]),
        (status = 422, description = "A bad parameter", body = crate::Problem)))]
pub async fn forecast(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ForecastQuery>,
) -> Result<Json<Vec<Forecast>>, ApiError> {
    Ok(Json(service::forecast(&state, &principal, &query).await?))
}

/// The movement ledger: every change of every level, newest first.
#[utoipa::path(get, path = "/api/v1/inventory/movements", operation_id = "inventory_movements", tag = "inventory",
    security(("bearer" = [])), params(MovementFilter, PageQuery),
    responses((status = 200, description = "A page of movements", body = Page<MovementView>),
        (status = 422, description = "A bad filter", body = crate::Problem)))]
pub async fn movements(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<MovementFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<MovementView>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let rows = service::movements(&state, &principal, &filter, limit, cursor).await?;
    Ok(Json(Page::of(rows, limit, |m| m.id)))
}

/// `GET /api/v1/inventory/availability`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Platform SKUs the tenant sells, comma-separated (at most 100).
    pub platform_sku: Option<String>,
}

/// Units available of platform SKUs the tenant sells, whoever stocks them: totals only.
#[utoipa::path(get, path = "/api/v1/inventory/availability", operation_id = "inventory_availability",
    tag = "inventory", security(("bearer" = [])), params(AvailabilityQuery),
    responses((status = 200, description = "Available units per SKU", body = [Availability]),
        (status = 422, description = "A SKU the tenant does not sell", body = crate::Problem)))]
pub async fn availability(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AvailabilityQuery>,
) -> Result<Json<Vec<Availability>>, ApiError> {
    let skus: Vec<String> = query
        .platform_sku
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Json(service::availability(&state, &principal, &skus).await?))
}

/// `GET /api/v1/warehouses`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarehouseFilter {
    pub active: Option<bool>,
}

/// The warehouses the tenant owns (every one for platform staff), newest first.
#[utoipa::path(get, path = "/api/v1/warehouses", operation_id = "warehouses_list", tag = "inventory",
    security(("bearer" = [])), params(WarehouseFilter, PageQuery),
    responses((status = 200, description = "A page of warehouses", body = Page<Warehouse>),
        (status = 422, description = "A bad filter", body = crate::Problem)))]
pub async fn list_warehouses(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<WarehouseFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<Warehouse>>, ApiError> {
    let (limit, cursor) = page.parse()?;
    let rows = service::warehouses(&state, &principal, filter.active, limit, cursor).await?;
    Ok(Json(Page::of(rows, limit, |w| w.id)))
}

/// Adds a warehouse of the acting tenant (the platform, or a vendor for its own stock).
#[utoipa::path(post, path = "/api/v1/warehouses", operation_id = "warehouses_create", tag = "inventory",
    security(("bearer" = [])), request_body = NewWarehouse,
    responses((status = 201, description = "Added", body = Warehouse),
        (status = 409, description = "A warehouse with this code exists", body = crate::Problem),
        (status = 422, description = "Invalid warehouse", body = crate::Problem)))]
pub async fn create_warehouse(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewWarehouse>,
) -> Result<(StatusCode, Json<Warehouse>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create_warehouse(&state, &principal, &new).await?)))
}

/// Changes a warehouse: name, address, priority, the states it serves, active.
#[utoipa::path(patch, path = "/api/v1/warehouses/{id}", operation_id = "warehouses_update", tag = "inventory",
    security(("bearer" = [])), request_body = WarehousePatch,
    params(("id" = Uuid, Path, description = "The warehouse")),
    responses((status = 200, description = "Changed", body = Warehouse),
        (status = 404, description = "No such warehouse of the tenant", body = crate::Problem),
        (status = 422, description = "Invalid change", body = crate::Problem)))]
pub async fn update_warehouse(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<WarehousePatch>,
) -> Result<Json<Warehouse>, ApiError> {
    let id = path_id(&id, "a warehouse")?;
    Ok(Json(service::update_warehouse(&state, &principal, id, &patch).await?))
}

/// An order's reservations (per warehouse) and backorders.
#[utoipa::path(get, path = "/api/v1/orders/{id}/reservations", operation_id = "orders_reservations",
    tag = "inventory", security(("bearer" = [])), params(("id" = Uuid, Path, description = "The order")),
    responses((status = 200, description = "The order's stock", body = OrderStock),
        (status = 404, description = "No such order", body = crate::Problem)))]
pub async fn order_reservations(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderStock>, ApiError> {
    let id = path_id(&id, "an order")?;
    Ok(Json(service::order_stock(&state, &principal, id).await?))
}
