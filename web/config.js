// The one file to edit when you put these pages on your site.
export default Object.freeze({
  // Where requests go: a form to `${forms}/forms/<form>`, a lookup to `${lookups}/lookups/<lookup>`.
  // Deployed, both are the stack's ApiUrl, e.g. "https://abc123.execute-api.ap-northeast-1.amazonaws.com".
  // These are `scripts/dev`'s (cargo lambda watch serves each function under /lambda-url/<function>).
  forms: "http://127.0.0.1:9000/lambda-url/submit",
  lookups: "http://127.0.0.1:9000/lambda-url/lookup",
  // The inputs that are honeypots (relay.toml `honeypot`). A form's description lists its
  // honeypot like any optional text input, so only this list tells the page to keep it out of
  // sight, out of the tab order and away from screen readers and autofill.
  honeypots: ["website"],
  // Shown at the top of every page, so people know whom they are writing to (null: nothing).
  organization: { ja: "kintone-relay デモ", en: "kintone-relay demo" },
  // A link to your privacy policy in the footer (null: none).
  privacyPolicy: null,
});
