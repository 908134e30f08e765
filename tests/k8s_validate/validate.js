#!/usr/bin/env node
// validate.js - owns: validating Kubernetes objects offline against the Kubernetes OpenAPI
// schemas shipped in the npm packages kubernetes-models (core and apps APIs, Kubernetes >= 1.29
// fields such as initContainers[].restartPolicy) and @kubernetes-models/prometheus-operator
// (PodMonitor, PrometheusRule). Pinned in package.json / package-lock.json (install.sh).
//
// Usage: node validate.js FILE.json   (a JSON array of objects; "-" reads stdin)
// Prints one JSON line per object: {"index","apiVersion","kind","name","ok","error"} and exits
// 0 when every object is valid, 1 when one is not (or its apiVersion/kind has no model), 2 on a
// usage or input error. The schemas allow unknown fields, as the API server's OpenAPI does.
"use strict";
const fs = require("fs");

// apiVersion -> module exporting one class per kind.
const groups = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

function modelFor(obj) {
  const mod = groups[obj.apiVersion];
  if (!mod) return null;
  const cls = require(mod)[obj.kind];
  return typeof cls === "function" ? cls : null;
}

function main() {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    process.stderr.write("usage: node validate.js FILE.json|-\n");
    return 2;
  }
  let objs;
  try {
    objs = JSON.parse(fs.readFileSync(file === "-" ? 0 : file, "utf8"));
  } catch (e) {
    process.stderr.write(`validate.js: cannot read ${file}: ${e.message}\n`);
    return 2;
  }
  if (!Array.isArray(objs)) {
    process.stderr.write("validate.js: input must be a JSON array of objects\n");
    return 2;
  }
  let bad = 0;
  objs.forEach((obj, index) => {
    const out = { index, apiVersion: obj && obj.apiVersion, kind: obj && obj.kind,
                  name: obj && obj.metadata && obj.metadata.name, ok: true, error: null };
    const Model = obj && typeof obj === "object" ? modelFor(obj) : null;
    if (!Model) {
      out.ok = false;
      out.error = `no schema for apiVersion ${out.apiVersion} kind ${out.kind}`;
    } else {
      try {
        new Model(obj).validate();
      } catch (e) {
        out.ok = false;
        out.error = String(e.message || e);
      }
    }
    if (!out.ok) bad++;
    process.stdout.write(JSON.stringify(out) + "\n");
  });
  return bad ? 1 : 0;
}

process.exitCode = main();
