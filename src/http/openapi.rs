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

/// The closed vocabularies as schemas, so the document says which values a
/// parameter or field takes (any other is a 422).
pub use crate::domain::vocab::{
    AlertType, Channel, ComplaintStatus, DeliveryMode, InboxStatus, Priority, RuleType, Severity,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ConvergeAI Alerts",
        description = "SLA, critical-complaint and workload alerts for complaint handling. \
                       Errors are `{\"detail\": \"...\"}`; timestamps are RFC 3339 UTC.",
    ),
    modifiers(&BearerAuth),
    components(schemas(
        ErrorBody,
        AlertType,
        Severity,
        RuleType,
        Channel,
        Priority,
        ComplaintStatus,
        InboxStatus,
        DeliveryMode
    )),
    tags(
        (name = "auth", description = "Login and identity"),
        (name = "alerts", description = "The caller's alert inbox"),
        (name = "rules", description = "Alert rules (alerts.manage)"),
        (name = "sla", description = "SLA policies and business calendars (sla.manage)"),
        (name = "escalation", description = "Escalation policies (alerts.manage)"),
        (name = "subscriptions", description = "The caller's delivery preferences"),
        (name = "preferences", description = "The caller's time zone, quiet hours and do-not-disturb"),
        (name = "complaints", description = "Complaints the alerts are about"),
        (name = "api-keys", description = "Keys for services calling the API (staff.manage)"),
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

/// The error statuses every operation can answer by its shape, added to
/// each operation that does not list them yet (with its own wording), so
/// the document names every status a route can return:
/// - secured: 401 (missing, invalid or expired token, inactive account,
///   with `WWW-Authenticate: Bearer`) and 503 (database unreachable or the
///   request timed out, with `Retry-After`);
/// - with a JSON body: 400 malformed JSON, 413 over 64 KiB, 415 not
///   `application/json`, 422 invalid field;
/// - with a path parameter: 404 no such resource, 422 not a valid value;
/// - with query parameters: 422 invalid parameter.
///
/// Also: the `/health` and `/ready` served at the root share their handler
/// (and its operation id) with the ones under `/api/v1`; theirs get a
/// `root_` prefix, so every operation id is unique.
pub fn finish(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            if !path.starts_with("/api/") {
                op.operation_id = op.operation_id.take().map(|id| format!("root_{id}"));
            }
            let params_in = |place: ParameterIn| {
                op.parameters.iter().flatten().any(|p| match p {
                    utoipa::openapi::RefOr::T(p) => p.parameter_in == place,
                    utoipa::openapi::RefOr::Ref(_) => false,
                })
            };
            let mut add: Vec<(&str, &str)> = Vec::new();
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add.push(("401", "Missing, invalid or expired token, or inactive account"));
                add.push(("503", "Database unreachable, or the request took over 30 s; retry after `Retry-After`"));
            }
            if op.request_body.is_some() {
                add.push(("400", "Malformed JSON"));
                add.push(("413", "Body over 64 KiB"));
                add.push(("415", "Body not sent as `Content-Type: application/json`"));
                add.push(("422", "Invalid body, naming the field"));
            }
            if params_in(ParameterIn::Path) {
                add.push(("404", "No such resource"));
                add.push(("422", "Invalid path parameter, naming it"));
            }
            if params_in(ParameterIn::Query) {
                add.push(("422", "Invalid query parameter, naming it"));
            }
            for (status, description) in add {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description).into());
            }
            // The headers of the statuses that carry one, however the handler worded them.
            for (status, header, description) in [
                ("401", "WWW-Authenticate", "`Bearer`"),
                ("429", "Retry-After", "Seconds to wait before trying again"),
                ("503", "Retry-After", "Seconds to wait before trying again"),
            ] {
                if let Some(utoipa::openapi::RefOr::T(response)) = op.responses.responses.get_mut(status) {
                    response.headers.entry(header.to_owned()).or_insert_with(|| header_of(header, description).into());
                }
            }
        }
    }
}

/// A response with the `{"detail"}` body.
pub fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
}

fn header_of(name: &str, description: &str) -> utoipa::openapi::header::Header {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let schema_type = if name == "Retry-After" { Type::Integer } else { Type::String };
    let mut header = utoipa::openapi::header::Header::new(ObjectBuilder::new().schema_type(schema_type));
    header.description = Some(description.to_owned());
    header
}
