//! The one place an identity error becomes an HTTP answer.

use crate::identity::model::Error;
use crate::identity::openid;
use crate::platform::error::ApiError;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::Forbidden(why) => ApiError::Forbidden(why),
            Error::Unauthenticated(why) => ApiError::Unauthenticated(why),
            Error::InvalidToken => ApiError::InvalidToken,
            Error::InvalidCredentials => ApiError::InvalidCredentials,
            Error::InvalidSecondFactor => ApiError::InvalidSecondFactor,
            Error::Locked { retry_after_seconds } => ApiError::TooManyAttempts { retry_after_seconds },
            Error::Provider(openid::Error::Failed(what)) => {
                ApiError::Unauthenticated(format!("single sign-on failed: {what}"))
            }
            Error::Provider(e @ openid::Error::Client(_)) => ApiError::internal(e),
            Error::Store(e) => ApiError::from(e),
            Error::Db(e) => ApiError::from(e),
            Error::Crypto(e) => ApiError::from(e),
            Error::Event(e) => ApiError::from(e),
            Error::Internal(what) => ApiError::internal(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::error::FieldError;

    fn answer(e: Error) -> (u16, String, Option<String>) {
        let problem = ApiError::from(e).to_problem();
        (problem.status, problem.code, problem.detail)
    }

    #[test]
    fn each_identity_error_keeps_its_status_and_code() {
        let invalid =
            answer(Error::Invalid(vec![FieldError::new("email", "invalid", "not an email address")]));
        assert_eq!((invalid.0, invalid.1.as_str()), (422, "validation_failed"));
        assert_eq!(answer(Error::NotFound("tenant x".into())).0, 404);
        assert_eq!(answer(Error::NotFound("tenant x".into())).1, "not_found");
        let conflict =
            answer(Error::Conflict { code: "already_member", detail: "a@b.io is already a member".into() });
        assert_eq!((conflict.0, conflict.1.as_str()), (409, "already_member"));
        let forbidden = answer(Error::Forbidden("the membership is not active".into()));
        assert_eq!((forbidden.0, forbidden.1.as_str()), (403, "forbidden"));
        assert_eq!(forbidden.2.as_deref(), Some("forbidden: the membership is not active"));
        let unauthenticated =
            answer(Error::Unauthenticated("finish single sign-on in the browser that started it".into()));
        assert_eq!((unauthenticated.0, unauthenticated.1.as_str()), (401, "unauthenticated"));
        let credentials = answer(Error::InvalidCredentials);
        assert_eq!((credentials.0, credentials.1.as_str()), (401, "invalid_credentials"));
        let locked = answer(Error::Locked { retry_after_seconds: 60 });
        assert_eq!((locked.0, locked.1.as_str()), (429, "too_many_attempts"));
        let factor = answer(Error::InvalidSecondFactor);
        assert_eq!(factor.0, 401);
        let token = answer(Error::InvalidToken);
        assert_eq!((token.0, token.1.as_str()), (400, "invalid_token"));
        let provider = answer(Error::Provider(openid::Error::Failed("the ID token has expired")));
        assert_eq!((provider.0, provider.1.as_str()), (401, "unauthenticated"));
        assert!(provider.2.is_some_and(|d| d.contains("single sign-on failed: the ID token has expired")));
        let client = answer(Error::Provider(openid::Error::Client("no TLS".into())));
        assert_eq!((client.0, client.1.as_str(), client.2), (500, "internal_error", None));
        let internal = answer(Error::Internal("saved provider not found".into()));
        assert_eq!((internal.0, internal.1.as_str(), internal.2), (500, "internal_error", None));
    }
}
