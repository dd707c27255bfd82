// POST /lookups/{lookup}: a partner sends an ID and corroborating facts; the relay builds the
// kintone query itself, checks every returned record again and answers only the declared
// outputs. Every kind of miss gets the same 404. The same rules as functions/lookup.
import {
  ApiError, Problem, checkLength, checkRequest, classify, cleanText, config, errorResponse, json, log,
  parseDate, parseDecimal, preflight, responseContext, routeName, utcOffsetMinutes, withKintone,
} from "./relay.mjs";

const MATCH_KIND = {
  SINGLE_LINE_TEXT: "text", LINK: "text", NUMBER: "number", RECORD_NUMBER: "number", DATE: "date",
  DROP_DOWN: "choice", RADIO_BUTTON: "choice",
};

for (const [name, lookup] of Object.entries(config.lookups ?? {})) {
  lookup.name = name;
  lookup.inputs = [lookup.key, ...(lookup.verify ?? [])].map((f) => ({
    ...f,
    kind: MATCH_KIND[f.type ?? "SINGLE_LINE_TEXT"],
    max_length: f.max_length ?? 100,
  }));
  lookup.max_records ??= 20;
  lookup.max_body_bytes ??= 16384;
  const fields = [...Object.values(lookup.outputs), ...lookup.inputs.map((f) => f.kintone)];
  if (lookup.expires_field) fields.push(lookup.expires_field);
  lookup.fields = [...new Set(fields), "$id"];
}

const literal = (value) => `"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;

function parseInputs(lookup, inputs) {
  const errors = {};
  for (const name of Object.keys(inputs)) {
    if (!lookup.inputs.some((f) => f.input === name)) errors[name] = new Problem("unknown_field");
  }
  const typed = {};
  for (const field of lookup.inputs) {
    try {
      const value = inputs[field.input];
      if (value === undefined || value === null) throw new Problem("required");
      const text = cleanText(value, false, true);
      if (text === null) throw new Problem("required");
      checkLength(text, field.max_length);
      if (field.kind === "number" && parseDecimal(text) === null) throw new Problem("invalid_number");
      if (field.kind === "date" && parseDate(text) === null) throw new Problem("invalid_date");
      typed[field.input] = text;
    } catch (problem) {
      if (!(problem instanceof Problem)) throw problem;
      errors[field.input] = problem;
    }
  }
  if (Object.keys(errors).length) throw new ApiError("invalid_input", { fields: errors });
  return typed;
}

function buildQuery(lookup, typed) {
  const conditions = [];
  if (lookup.filter) conditions.push(`(${lookup.filter.trim()})`);
  for (const field of lookup.inputs) {
    const value = literal(typed[field.input]);
    conditions.push(field.kind === "choice" ? `${field.kintone} in (${value})` : `${field.kintone} = ${value}`);
  }
  if (lookup.expires_field) {
    conditions.push(lookup.expires_type === "DATETIME" ? `${lookup.expires_field} > NOW()` : `${lookup.expires_field} >= TODAY()`);
  }
  let query = conditions.join(" and ");
  if (lookup.order_by) query += ` order by ${lookup.order_by.trim()}`;
  return `${query} limit ${lookup.max_records + 1}`;
}

const textOf = (record, code) => record[code]?.value;

/** Defence in depth: the record must match every input and the expiry, whatever the query did. */
function check(lookup, typed, record, now) {
  for (const field of lookup.inputs) {
    const actual = textOf(record, field.kintone);
    if (typeof actual !== "string") return "field missing from the record";
    const normalised = actual.normalize("NFKC").trim();
    const expected = typed[field.input];
    const equal = field.kind === "number"
      ? parseDecimal(normalised) !== null && parseDecimal(normalised) === parseDecimal(expected)
      : normalised === expected;
    if (!equal) return field.input === lookup.key.input ? "key differs" : "corroborating field differs";
  }
  if (lookup.expires_field) {
    const value = textOf(record, lookup.expires_field) ?? "";
    const current = lookup.expires_type === "DATETIME"
      ? Date.parse(value) > now.getTime()
      : parseDate(value) !== null && value >= new Date(now.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
    if (!current) return "expired";
  }
  return null;
}

function flatten(field) {
  const value = field?.value ?? null;
  switch (field?.type) {
    case "USER_SELECT": case "ORGANIZATION_SELECT": case "GROUP_SELECT": case "STATUS_ASSIGNEE":
      return (value ?? []).map((entity) => entity?.name ?? null);
    case "CREATOR": case "MODIFIER":
      return value?.name ?? null;
    case "FILE":
      return (value ?? []).map((f) => ({ name: f.name ?? null, size: f.size ?? null, contentType: f.contentType ?? null }));
    case "SUBTABLE":
      return (value ?? []).map((row) => Object.fromEntries(Object.entries(row.value ?? {}).map(([code, cell]) => [code, flatten(cell)])));
    default:
      return value;
  }
}

function outputs(lookup, record) {
  return Object.fromEntries(Object.entries(lookup.outputs).map(([name, code]) => [name, code in record ? flatten(record[code]) : null]));
}

async function respond(event, ctx, path) {
  const lookup = config.lookups?.[routeName(path, "lookups")];
  if (!lookup) throw new ApiError("not_found");
  const inputs = checkRequest(event, ctx, lookup);
  if (inputs === null) return { outcome: "preflight", response: preflight(ctx) };
  const typed = parseInputs(lookup, inputs);
  const query = buildQuery(lookup, typed);

  const started = Date.now();
  let found;
  try {
    ({ records: found } = await withKintone(lookup.token_secret, (client) =>
      client.record.getRecords({ app: lookup.app, query, fields: lookup.fields })));
    log("INFO", "records fetched", { lookup: lookup.name, app: lookup.app, returned: found.length, kintone_ms: Date.now() - started });
  } catch (error) {
    if (error?.code === "GAIA_IQ10") {
      log("WARN", "a typed value is not an option of the field; answering not found", { lookup: lookup.name, app: lookup.app });
      throw new ApiError("not_found");
    }
    const { code, retryAfter } = classify(error);
    log("ERROR", "kintone call failed", { lookup: lookup.name, app: lookup.app, code: error?.code, id: error?.id });
    throw new ApiError(code === "refused" ? "misconfigured" : code, { retryAfter });
  }
  const now = new Date();
  let matching = found.filter((record) => {
    const reason = check(lookup, typed, record, now);
    if (reason) log("WARN", "anomaly: kintone returned a record that fails the relay's check", { lookup: lookup.name, record_id: record.$id?.value, reason });
    return !reason;
  });
  if (!matching.length) throw new ApiError("not_found");
  if (matching.length > lookup.max_records) {
    log("WARN", "more records match than max_records; answering the first ones", { lookup: lookup.name });
    matching = matching.slice(0, lookup.max_records);
  }
  const records = matching.map((record) => outputs(lookup, record));
  return { outcome: "found", records: records.length, response: json(ctx, 200, { records }) };
}

export const handler = async (event, context) => {
  const started = Date.now();
  const ctx = responseContext(event, context);
  const path = event.rawPath ?? event.requestContext?.http?.path;
  const lookupName = routeName(path, "lookups") ?? "";
  try {
    const { outcome, records = 0, response } = await respond(event, ctx, path);
    log("INFO", "lookup", { lookup: lookupName, status: response.statusCode, outcome, records, elapsed_ms: Date.now() - started });
    return response;
  } catch (error) {
    if (!(error instanceof ApiError)) {
      log("ERROR", "unexpected error", { error: String(error?.stack ?? error) });
      error = new ApiError("internal");
    }
    const response = errorResponse(ctx, error);
    log("INFO", "lookup", { lookup: lookupName, status: response.statusCode, outcome: error.code, fields: Object.keys(error.fields ?? {}), elapsed_ms: Date.now() - started });
    return response;
  }
};
