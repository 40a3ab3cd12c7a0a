//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! its offline interactive docs.
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error body.
#[derive(ToSchema, serde::Serialize)]
pub struct ErrorBody {
    /// What went wrong, naming the field or parameter when there is one.
    pub detail: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ConvergeAI Alerts",
        description = "SLA, critical-complaint and workload alerts for complaint handling. \
                       Errors are `{\"detail\": \"...\"}`; timestamps are RFC 3339 UTC.",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Login and identity"),
        (name = "alerts", description = "The caller's alert inbox"),
        (name = "rules", description = "Alert rules (alerts.manage)"),
        (name = "subscriptions", description = "The caller's delivery preferences"),
        (name = "complaints", description = "Complaints the alerts are about"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
