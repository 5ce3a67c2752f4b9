// Verifies one Sigstore bundle the way a Kubernetes admission check would, with sigstore-js
// (@sigstore/bundle and @sigstore/verify, pinned in package-lock.json beside this file), not with
// anything this project wrote:
//
//   node verify-bundle.cjs BUNDLE.json COSIGN.pub SUBJECT_DIGEST PREDICATE_TYPE
//
// 1. @sigstore/bundle parses and validates the bundle (v0.3 media type, one DSSE signature).
// 2. @sigstore/verify checks it against trust material holding only COSIGN.pub, found by the
//    bundle's key hint: no transparency log, certificate transparency log or timestamp is asked
//    for (the thresholds are zero), since a key-signed bundle without a tlog has none. The
//    signature must be the key's over the DSSE pre-authentication encoding of the payload.
// 3. Then the few lines here that are ours: the verified payload must be an in-toto statement of
//    PREDICATE_TYPE whose subject is SUBJECT_DIGEST (cosign checks the same before it trusts an
//    attestation for an image).
//
// cargo xtask test installs the modules into target/tools/sigstore-js; the suite runs this
// script with NODE_PATH pointing there. Exit status 0 and one line on success; 1 and the reason.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
// A trusted root with no authorities at all: the key below is the only thing trusted.
const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

function fail(message) {
  process.stderr.write(`verify-bundle: ${message}\n`);
  process.exit(1);
}

function main([bundlePath, keyPath, subjectDigest, predicateType]) {
  if (!predicateType) {
    fail('usage: verify-bundle.cjs BUNDLE.json COSIGN.pub SUBJECT_DIGEST PREDICATE_TYPE');
  }
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));

  // The key as cosign.pub holds it; its hint is base64 of the SHA-256 of its DER, computed here
  // from the file, so a bundle naming another key is not found.
  const der = crypto
    .createPublicKey(fs.readFileSync(keyPath, 'utf8'))
    .export({ type: 'spki', format: 'der' });
  const hint = crypto.createHash('sha256').update(der).digest('base64');
  const trust = toTrustMaterial(EMPTY_TRUSTED_ROOT, { [hint]: { rawBytes: der } });
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));

  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    fail(`the payload is a ${envelope.payloadType}, not an in-toto statement`);
  }
  const statement = JSON.parse(envelope.payload.toString('utf8'));
  if (statement._type !== STATEMENT_TYPE) {
    fail(`the statement's _type is ${statement._type}`);
  }
  if (statement.predicateType !== predicateType) {
    fail(`the statement is a ${statement.predicateType}, not a ${predicateType}`);
  }
  const hex = subjectDigest.replace(/^sha256:/, '');
  const subjects = (statement.subject || []).map((s) => (s.digest || {}).sha256);
  if (!subjects.includes(hex)) {
    fail(`the statement is about ${subjects.join(', ')}, not ${subjectDigest}`);
  }
  process.stdout.write(`verified: ${predicateType} of ${subjectDigest}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  fail(`${error.name}: ${error.message}`);
}
