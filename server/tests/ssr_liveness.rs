//! Every page render ends: nothing else the process does can leave a page's response open
//! forever.

#[path = "support/ssr_page.rs"]
mod ssr_page;

use std::time::Duration;

use app::api::SharedPageSource;
use axum::Router;
use leptos::config::LeptosOptions;

/// The bug (a CI run that never finished): building a router generates the app's route list,
/// which renders the app once with resource loading switched off through a process-global flag
/// (leptos#4773). A page whose resource first polled inside that window never got its data and
/// its response never ended. Here routers are built over and over while pages render; each render
/// must end. (The limit only tells a hang from a slow machine: a render takes milliseconds.)
#[test]
fn a_page_rendered_while_another_router_is_built_still_finishes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let building = tokio::spawn(async {
            for _ in 0..300 {
                let options = LeptosOptions::builder().output_name("webchat").build();
                let source: SharedPageSource =
                    std::sync::Arc::new(ssr_page::FixedPage(ssr_page::page_with("t", "x")));
                let _: Router = codex_webchat::web::with_pages(Router::new(), &options, source)
                    .with_state(options.clone());
                tokio::task::yield_now().await;
            }
        });
        let mut rendered = 0;
        while !building.is_finished() {
            let page = ssr_page::page_with("title", "text");
            let render = tokio::spawn(ssr_page::render(page));
            let html = tokio::time::timeout(Duration::from_secs(60), render)
                .await
                .unwrap_or_else(|_| panic!("render {rendered} never ended"))
                .expect("the render task");
            assert!(html.contains("</html>"), "{html}");
            rendered += 1;
        }
        building.await.expect("the building task");
        assert!(rendered > 0, "no page rendered while routers were built");
    });
}
