// SPDX-License-Identifier: Apache-2.0
// Validates Kubernetes objects offline: every document of each YAML file named
// on the command line against the schema of its apiVersion and kind, from
// kubernetes-models (the Kubernetes API), @kubernetes-models/prometheus-operator
// (monitoring.coreos.com) and scc.schema.json (OpenShift's
// SecurityContextConstraints, which no npm package ships). A kind none of them
// knows is an error. Prints one line per object, "ok" or "FAIL" with the
// reasons; exits 1 when any object fails or a file holds none, 2 on a file or
// YAML syntax error. --json=OUT also writes every object read, as one JSON
// array, to OUT (for tests that look into them: Python has no YAML parser).
//
//   node tests/kubernetes/validate.mjs [--json=OUT] rendered.yaml ...
//
// The packages are installed by scripts/deps.sh into tests/kubernetes/node_modules.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Ajv } from "ajv";
import { ObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";

const scc = new Ajv({ allErrors: true, strict: true }).compile(
  JSON.parse(readFileSync(new URL("scc.schema.json", import.meta.url), "utf8")),
);

// The module of the model class for apiVersion and kind, or null.
function modelModule(apiVersion, kind) {
  const m = /^(?:([a-z0-9.-]+)\/)?(v[0-9a-z]+)$/.exec(apiVersion ?? "");
  if (!m || !/^[A-Z][A-Za-z0-9]*$/.test(kind ?? "")) return null;
  const [, group, version] = m;
  if (group === "monitoring.coreos.com")
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
}

// Throws with the reasons when obj is not a valid object of its kind.
async function validate(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    throw new Error("not an object");
  const { apiVersion, kind } = obj;
  if (apiVersion === "security.openshift.io/v1" && kind === "SecurityContextConstraints") {
    if (!scc(obj))
      throw new Error(scc.errors.map((e) => `data${e.instancePath} ${e.message}`).join(", "));
    new ObjectMeta(obj.metadata).validate();
    return;
  }
  // kustomize folds a long base64 value into lines, and the API server
  // decodes []byte with Go's base64, which skips newlines; the "byte" format
  // of the schema does not.
  if (apiVersion === "v1" && kind === "Secret" && obj.data && typeof obj.data === "object")
    for (const [k, v] of Object.entries(obj.data))
      if (typeof v === "string") obj.data[k] = v.replace(/[\r\n]/g, "");
  const path = modelModule(apiVersion, kind);
  let Model;
  try {
    Model = path && (await import(path))[kind];
  } catch {
    Model = undefined;
  }
  // Only top-level kinds: a model of a part (Container, ObjectMeta) has no apiVersion.
  if (!Model || Model.apiVersion !== apiVersion || Model.kind !== kind)
    throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  new Model(obj).validate();
}

const args = process.argv.slice(2);
const jsonOut = args[0]?.startsWith("--json=") ? args.shift().slice(7) : null;
if (!args.length) {
  console.error("usage: node validate.mjs [--json=OUT] FILE.yaml...");
  process.exit(2);
}
const all = [];
let failed = 0;
for (const file of args) {
  let docs;
  try {
    docs = parseAllDocuments(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(2);
  }
  let n = 0;
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`${file}: ${doc.errors[0].message}`);
      process.exit(2);
    }
    const obj = doc.toJS();
    if (obj === null) continue; // an empty document (a trailing "---")
    n++;
    all.push(structuredClone(obj));
    const what = `${file}: ${obj?.kind}/${obj?.metadata?.name}`;
    try {
      await validate(obj);
      console.log(`ok   ${what}`);
    } catch (e) {
      console.log(`FAIL ${what}: ${e.message}`);
      failed++;
    }
  }
  if (n === 0) {
    console.log(`FAIL ${file}: no object`);
    failed++;
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(all));
process.exit(failed ? 1 : 0);
