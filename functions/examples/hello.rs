//! The baseline for `scripts/bench functions`: a minimal `lambda_http` hello-world built with the
//! same profile as the functions, so their init time and size can be compared with it.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Ok::<_, Error>(Response::builder().status(200).body(Body::from("hello"))?)
    }))
    .await
}
