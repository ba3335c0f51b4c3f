// Azure -> Google with Google's Node SDK reading Application Default Credentials, unchanged:
// GOOGLE_APPLICATION_CREDENTIALS names the external_account file `federation credential-file` wrote,
// whose credential_source.executable runs `federation executable-source`; google-auth-library runs it
// (GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1), exchanges the Azure token at STS, impersonates the
// service account, and @google-cloud/bigquery runs a query. Prints one JSON line.
//
//   node --require ./loopback.cjs adc_bigquery.mjs
//
// Sources: google-auth-library-nodejs README, "Using Executable-sourced credentials with OIDC and SAML";
// build/src/auth/pluggable-auth-client.js and pluggable-auth-handler.js (spawns the command, exit 0 =
// success, stdout and stderr together are the response). Settings: INTEROP_PROJECT, INTEROP_QUERY,
// LAB_BIGQUERY_URL; trust: NODE_EXTRA_CA_CERTS.
import { BigQuery } from '@google-cloud/bigquery';
import { GoogleAuth } from 'google-auth-library';

async function main() {
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  const authClient = await auth.getClient();
  const bigquery = new BigQuery({
    projectId: process.env.INTEROP_PROJECT,
    apiEndpoint: process.env.LAB_BIGQUERY_URL,
    authClient,
  });
  const [rows] = await bigquery.query({ query: process.env.INTEROP_QUERY, useLegacySql: false });
  console.log(JSON.stringify({ client: authClient.constructor.name, rows }));
}

main().catch(error => {
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
});
