//! The wasm entry point and nothing else: it hydrates the server-rendered page with the `app`
//! crate's root component. All behaviour lives in `app`; this crate only exists because the wasm
//! artefact must be a `cdylib`.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Tests wait on this attribute: it flips only once the live view has taken over the page.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
