//! The HTTP listener. For now: liveness and readiness probes.
//!
//! - `GET /health/live`: 200 while the process serves requests at all.
//! - `GET /health/ready`: 200 when the metadata store answers and its schema is at the
//!   version this binary migrates to; 503 with the reason otherwise.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use mailstead_store::MetaStore;
use serde_json::{Value, json};

/// What the HTTP handlers need.
#[derive(Clone)]
pub struct HttpState {
    /// The metadata store.
    pub meta: Arc<dyn MetaStore>,
    /// The schema version migrations bring the store to.
    pub expected_schema_version: i64,
}

/// The router with every HTTP route.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(state)
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

async fn ready(State(state): State<HttpState>) -> (StatusCode, Json<Value>) {
    let check = async {
        state.meta.ping().await?;
        state.meta.schema_version().await
    };
    match check.await {
        Ok(v) if v == state.expected_schema_version => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "schema_version": v })),
        ),
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "error": format!("schema version {v}, expected {}", state.expected_schema_version),
            })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        ),
    }
}
