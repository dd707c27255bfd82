// What both handlers share: relay.toml, the token cache, the kintone clients, the HTTP edge
// (CORS, language, errors) and the input rules of the Rust relay (shared/src/form.rs).
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { parse as parseToml } from "smol-toml";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { KintoneRestAPIClient } from "@kintone/rest-api-client";

// ---- configuration ---------------------------------------------------------------------------

const configPath = process.env.RELAY_CONFIG ?? new URL("../../relay.toml", import.meta.url);
export const config = parseToml(readFileSync(configPath, "utf8"));
const baseUrl = (process.env.KINTONE_BASE_URL ?? config.kintone.base_url).replace(/\/+$/, "");
const ttlMs = (config.secrets?.cache_ttl_seconds ?? 300) * 1000;
const timeoutMs = config.kintone.timeout_ms ?? 10_000;
export const utcOffsetMinutes = (() => {
  const [, sign, h, m] = /^([+-])(\d\d):(\d\d)$/.exec(config.kintone.utc_offset ?? "+09:00");
  return (sign === "-" ? -1 : 1) * (Number(h) * 60 + Number(m));
})();

export function log(level, message, fields = {}) {
  console.log(JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields }));
}

// ---- tokens from Secrets Manager, cached per instance ----------------------------------------

const secretsManager = new SecretsManagerClient({});
const secretCache = new Map();

async function secretValue(secretId, refresh = false) {
  const hit = secretCache.get(secretId);
  if (hit && !refresh && Date.now() - hit.at < ttlMs) return hit.value;
  const started = Date.now();
  const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
  log("INFO", "secret fetched", { secret_id: secretId, elapsed_ms: Date.now() - started });
  secretCache.set(secretId, { value: out.SecretString, at: Date.now() });
  return out.SecretString;
}

function parseToken(raw) {
  let token = raw?.trim() ?? "";
  if (token.startsWith("{")) token = JSON.parse(token).token ?? "";
  if (!/^[A-Za-z0-9,_-]+$/.test(token)) throw new Error("the secret holds no usable kintone API token");
  return token;
}

const clients = new Map();

async function clientFor(secretId, refresh) {
  const token = parseToken(await secretValue(secretId, refresh));
  let client = clients.get(token);
  if (!client) {
    const options = { baseUrl, auth: { apiToken: token }, socketTimeout: timeoutMs };
    if (config.kintone.guest_space) options.guestSpaceId = config.kintone.guest_space;
    if (config.kintone.basic_auth_secret) {
      options.basicAuth = JSON.parse(await secretValue(config.kintone.basic_auth_secret));
    }
    client = new KintoneRestAPIClient(options);
    clients.set(token, client);
  }
  return client;
}

/** Runs `call(client)`; when kintone no longer knows the cached token, re-reads it once. */
export async function withKintone(secretId, call) {
  try {
    return await call(await clientFor(secretId, false));
  } catch (error) {
    if (error?.code !== "GAIA_IA02") throw error;
    log("WARN", "kintone does not know the cached token; re-reading the secret", { secret_id: secretId });
    return await call(await clientFor(secretId, true));
  }
}

/** kintone's (or Secrets Manager's) failure as the relay's error code. */
export function classify(error) {
  const status = error?.status ?? 0;
  if (status === 429 || error?.code === "GAIA_TO04") return { code: "unavailable", retryAfter: 5 };
  if (error?.code === "GAIA_LT01" || error?.code === "GAIA_DA02") return { code: "unavailable", retryAfter: 10 };
  if (error?.code === "CB_VA01") return { code: "refused" };
  if (status === 503) return { code: "unavailable", retryAfter: 60 };
  if (status >= 500 || status === 0) return { code: "unavailable", retryAfter: 10 };
  return { code: "misconfigured" };
}

// ---- the HTTP edge ---------------------------------------------------------------------------

export function language(headers) {
  let best = null;
  for (const item of (headers["accept-language"] ?? "").split(",")) {
    const [tag, ...params] = item.split(";");
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith("q="))?.slice(2) ?? 1);
    const lang = tag.trim().toLowerCase().split("-")[0];
    if ((lang === "ja" || lang === "en") && q > 0 && (!best || q > best.q)) best = { q, lang };
  }
  return best?.lang ?? "ja";
}

const MESSAGES = {
  not_found: ["見つかりませんでした。", "Not found."],
  method_not_allowed: ["このメソッドは使用できません。", "This method is not allowed."],
  origin_not_allowed: ["このページからの送信は許可されていません。", "Requests from this page are not allowed."],
  unsupported_media_type: ["Content-Type: application/json で送信してください。", "Send the request as Content-Type: application/json."],
  payload_too_large: ["送信内容が大きすぎます。", "The request is too large."],
  invalid_json: ["送信内容を読み取れませんでした（JSON の形式が正しくありません）。", "The request body is not valid JSON."],
  invalid_input: ["入力内容を確認してください。", "Please check the highlighted fields."],
  invalid_idempotency_key: [
    "Idempotency-Key ヘッダーは英数字・-・_ の32〜64文字（crypto.randomUUID() など）にしてください。",
    "The Idempotency-Key header must be 32 to 64 letters, digits, '-' or '_' (crypto.randomUUID(), say).",
  ],
  unavailable: [
    "ただいま混み合っているか、メンテナンス中です。しばらくしてからもう一度お試しください。",
    "The service is busy or under maintenance. Please try again shortly.",
  ],
  misconfigured: [
    "サーバーの設定に問題があるため受け付けできませんでした。管理者にお問い合わせください。",
    "The service is not configured correctly. Please contact the administrator.",
  ],
  internal: ["サーバーで問題が発生しました。", "Something went wrong on the server."],
};

const STATUS = {
  not_found: 404, method_not_allowed: 405, origin_not_allowed: 403, unsupported_media_type: 415,
  payload_too_large: 413, invalid_json: 400, invalid_input: 400, invalid_idempotency_key: 400,
  unavailable: 503, misconfigured: 500, internal: 500,
};

const PROBLEMS = {
  required: ["入力してください。", "This field is required."],
  consent_required: ["同意が必要です。", "Your consent is required."],
  not_a_string: ["文字列で送信してください。", "Send this field as a string."],
  not_a_list: ["選択肢の配列で送信してください。", "Send this field as a list of options."],
  not_a_boolean: ["true か false で送信してください。", "Send true or false."],
  too_long: ["{max}文字以内で入力してください。", "Enter at most {max} characters."],
  control_characters: ["使用できない制御文字が含まれています。", "This contains control characters that are not allowed."],
  invalid_email: ["メールアドレスの形式が正しくありません。", "Enter a valid email address."],
  invalid_tel: ["電話番号は数字、空白、+、-、( ) で入力してください。", "Enter a phone number using digits, spaces, +, - and ( )."],
  invalid_url: ["http:// または https:// で始まる URL を入力してください。", "Enter a URL starting with http:// or https://."],
  invalid_number: ["数値を入力してください。", "Enter a number."],
  out_of_range: ["{min}以上{max}以下の数値を入力してください。", "Enter a number from {min} to {max}."],
  invalid_date: ["存在する日付を YYYY-MM-DD の形式で入力してください。", "Enter a real date as YYYY-MM-DD."],
  invalid_datetime: ["日時を 2026-04-01T09:00:00+09:00 の形式で入力してください。", "Enter a date and time like 2026-04-01T09:00:00+09:00."],
  not_an_option: ["選択肢の中から選んでください。", "Choose one of the options."],
  repeated_choice: ["同じ選択肢が2回選ばれています。", "The same option was chosen twice."],
  unknown_field: ["このフォームにない項目です。", "This form has no such field."],
  refused_by_kintone: ["この値は登録できませんでした（{detail}）。", "This value could not be saved ({detail})."],
};

export function problemMessage(problem, lang) {
  const [ja, en] = PROBLEMS[problem.kind];
  return (lang === "en" ? en : ja).replace(/\{(\w+)\}/g, (_, key) => String(problem[key] ?? ""));
}

export class ApiError extends Error {
  constructor(code, { fields, retryAfter, message } = {}) {
    super(code);
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
    this.detail = message;
  }
}

export function responseContext(event, context) {
  const headers = event.headers ?? {};
  return { lang: language(headers), origin: null, requestId: context?.awsRequestId };
}

function commonHeaders(ctx) {
  const headers = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    vary: "Origin, Accept-Language",
  };
  if (ctx.requestId) headers["x-request-id"] = ctx.requestId;
  if (ctx.origin) {
    headers["access-control-allow-origin"] = ctx.origin;
    headers["access-control-expose-headers"] = "Retry-After, X-Request-Id";
  }
  return headers;
}

export function json(ctx, statusCode, body) {
  return {
    statusCode,
    headers: { "content-type": "application/json; charset=utf-8", ...commonHeaders(ctx) },
    body: JSON.stringify(body),
  };
}

export function errorResponse(ctx, error) {
  const [ja, en] = MESSAGES[error.code];
  const detail = { code: error.code, message: error.detail ?? (ctx.lang === "en" ? en : ja) };
  if (error.fields) {
    detail.fields = Object.fromEntries(
      Object.entries(error.fields).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, p]) => [name, problemMessage(p, ctx.lang)]),
    );
  }
  const response = json(ctx, STATUS[error.code], { error: detail });
  if (error.code === "unavailable") response.headers["retry-after"] = String(error.retryAfter ?? 5);
  if (error.code === "method_not_allowed") response.headers.allow = "POST, OPTIONS";
  return response;
}

export function preflight(ctx) {
  return {
    statusCode: 204,
    headers: {
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers": "Content-Type, Accept-Language, Idempotency-Key",
      "access-control-max-age": "600",
      ...commonHeaders(ctx),
    },
    body: "",
  };
}

/** The `{name}` of a path ending in `/{collection}/{name}`. */
export function routeName(path, collection) {
  const segments = (path ?? "").replace(/\/+$/, "").split("/");
  const name = segments.pop();
  return segments.pop() === collection && name ? name : null;
}

/** Checks Origin, answers preflights, and returns the JSON body of a POST. */
export function checkRequest(event, ctx, endpoint) {
  const headers = event.headers ?? {};
  const origin = headers.origin;
  if (origin !== undefined) {
    const allowed = (endpoint.allowed_origins ?? []).some((o) => o.toLowerCase() === origin.toLowerCase());
    if (!allowed) throw new ApiError("origin_not_allowed");
    ctx.origin = origin;
  } else if (!endpoint.allow_no_origin) {
    throw new ApiError("origin_not_allowed");
  }
  const method = event.requestContext?.http?.method ?? "GET";
  if (method === "OPTIONS") return null;
  if (method !== "POST") throw new ApiError("method_not_allowed");
  const mediaType = (headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") throw new ApiError("unsupported_media_type");
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64") : Buffer.from(event.body ?? "", "utf8");
  if (raw.length > endpoint.max_body_bytes) throw new ApiError("payload_too_large");
  let body;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ApiError("invalid_json");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError("invalid_json", { message: ctx.lang === "en" ? "The request body must be a JSON object." : "送信内容は JSON オブジェクトでなければなりません。" });
  }
  return body;
}

// ---- input rules -----------------------------------------------------------------------------

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_BUT_NEWLINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export class Problem extends Error {
  constructor(kind, extra = {}) {
    super(kind);
    this.kind = kind;
    Object.assign(this, extra);
  }
}

/** A trimmed string (NFKC-normalised where asked), or null when blank. */
export function cleanText(value, multiline, nfkc) {
  if (typeof value !== "string") throw new Problem("not_a_string");
  if ((multiline ? CONTROL_BUT_NEWLINES : CONTROL).test(value)) throw new Problem("control_characters");
  let text = (nfkc ? value.normalize("NFKC") : value).trim();
  if (text === "") return null;
  if (multiline) text = text.replace(/\r\n?/g, "\n");
  return text;
}

export function checkLength(text, max) {
  if ([...text].length > max) throw new Problem("too_long", { max });
}

export function parseDecimal(text) {
  const m = /^[+-]?(\d+)(\.\d+)?$/.exec(text);
  return m && m[1].length <= 30 ? Number(text) : null;
}

export function parseDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1000) return null;
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? text : null;
}

const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DEFAULT_LENGTH = { text: 200, multiline: 5000, email: 254, tel: 30, url: 2000 };

/** One declared input: its kintone value, or null when not given. */
export function parseField(field, value) {
  if (value === undefined || value === null) return null;
  const max = field.max_length ?? DEFAULT_LENGTH[field.type];
  switch (field.type) {
    case "text":
    case "multiline": {
      const text = cleanText(value, field.type === "multiline", false);
      if (text === null) return null;
      checkLength(text, max);
      return text;
    }
    case "email": {
      const text = cleanText(value, false, false);
      if (text === null) return null;
      checkLength(text, max);
      if (!EMAIL.test(text)) throw new Problem("invalid_email");
      return text;
    }
    case "tel": {
      const text = cleanText(value, false, true);
      if (text === null) return null;
      checkLength(text, max);
      if (!/^[0-9 +\-()]+$/.test(text) || !/[0-9]/.test(text)) throw new Problem("invalid_tel");
      return text;
    }
    case "url": {
      const text = cleanText(value, false, false);
      if (text === null) return null;
      checkLength(text, max);
      let ok = /^https?:\/\//.test(text);
      try {
        new URL(text);
      } catch {
        ok = false;
      }
      if (!ok) throw new Problem("invalid_url");
      return text;
    }
    case "number": {
      const text = typeof value === "number" ? String(value) : cleanText(value, false, true);
      if (text === null) return null;
      const number = parseDecimal(text);
      if (number === null) throw new Problem("invalid_number");
      if ((field.min !== undefined && number < field.min) || (field.max !== undefined && number > field.max)) {
        throw new Problem("out_of_range", { min: field.min, max: field.max });
      }
      return text;
    }
    case "date": {
      const text = cleanText(value, false, true);
      if (text === null) return null;
      if (parseDate(text) === null) throw new Problem("invalid_date");
      return text;
    }
    case "datetime": {
      const text = cleanText(value, false, true);
      if (text === null) return null;
      const time = RFC3339.test(text) ? Date.parse(text) : NaN;
      if (Number.isNaN(time)) throw new Problem("invalid_datetime");
      const iso = new Date(time).toISOString();
      const year = Number(iso.slice(0, 4));
      if (year < 1000 || year > 9999) throw new Problem("invalid_datetime");
      return iso.slice(0, 19) + "Z";
    }
    case "choice": {
      const text = cleanText(value, false, false);
      if (text === null) return null;
      if (!field.options.includes(text)) throw new Problem("not_an_option");
      return text;
    }
    case "choices": {
      if (!Array.isArray(value)) throw new Problem("not_a_list");
      const chosen = [];
      for (const item of value) {
        let text;
        try {
          text = cleanText(item, false, false);
        } catch {
          throw new Problem("not_a_list");
        }
        if (text === null || !field.options.includes(text)) throw new Problem("not_an_option");
        if (chosen.includes(text)) throw new Problem("repeated_choice");
        chosen.push(text);
      }
      return chosen.length ? chosen : null;
    }
    case "consent":
      if (value === true) return [field.options[0]];
      if (value === false) return null;
      throw new Problem("not_a_boolean");
    default:
      throw new Error(`unknown field type ${field.type}`);
  }
}

// ---- receipts --------------------------------------------------------------------------------

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function receiptFrom(bytes) {
  let bits = BigInt("0x" + Buffer.from(bytes.subarray(0, 13)).toString("hex")) >> 4n;
  let code = "";
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 4 === 0) code += "-";
    code += CROCKFORD[Number((bits >> BigInt(5 * (19 - i))) & 31n)];
  }
  return code;
}

export function randomReceipt() {
  return receiptFrom(randomBytes(13));
}

export function receiptForKey(form, key) {
  const digest = createHash("sha256").update("kintone-relay receipt v1\0").update(form).update("\0").update(key).digest();
  return receiptFrom(digest);
}
