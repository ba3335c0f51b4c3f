// Azure -> Google with Google's and Microsoft's Node SDKs, unchanged: a google-auth-library
// external-account (identity pool) client exchanges an Azure access token at STS, impersonates a
// service account, and @google-cloud/bigquery runs queries. Prints one JSON line.
//
//   node --require ./loopback.cjs google_bigquery.mjs url|file|supplier
//
// The three subject-token sources google-auth-library documents for workload identity federation
// (cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds#azure and
// github.com/googleapis/google-auth-library-nodejs#workload-identity-federation):
//   url      credential_source.url: the Azure VM IMDS, as `gcloud iam workload-identity-pools
//            create-cred-config --azure` writes it (JSON response, field access_token);
//   file     credential_source.file: a file holding the Azure token (text);
//   supplier subject_token_supplier: @azure/identity ManagedIdentityCredential in code.
//
// Settings (environment): what the lab exports (lab.env()) plus INTEROP_STS_AUDIENCE,
// INTEROP_AZURE_RESOURCE (the app ID URI the pool trusts), INTEROP_SERVICE_ACCOUNT,
// INTEROP_PROJECT, INTEROP_TOKEN_FILE (file), INTEROP_QUERY. Trust: NODE_EXTRA_CA_CERTS.
import { ManagedIdentityCredential } from '@azure/identity';
import { BigQuery } from '@google-cloud/bigquery';
import { ExternalAccountClient } from 'google-auth-library';

const JWT = 'urn:ietf:params:oauth:token-type:jwt';

function credentialSource(source) {
  const resource = process.env.INTEROP_AZURE_RESOURCE;
  if (source === 'url') {
    const imds = `${process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token`;
    return {
      credential_source: {
        url: `${imds}?api-version=2018-02-01&resource=${encodeURIComponent(resource)}`,
        headers: { Metadata: 'True' },
        format: { type: 'json', subject_token_field_name: 'access_token' },
      },
    };
  }
  if (source === 'file') {
    return { credential_source: { file: process.env.INTEROP_TOKEN_FILE } };
  }
  if (source === 'supplier') {
    const azure = new ManagedIdentityCredential();
    return {
      subject_token_supplier: {
        async getSubjectToken() {
          return (await azure.getToken(`${resource}/.default`)).token;
        },
      },
    };
  }
  throw new Error(`unknown source ${source}`);
}

async function main() {
  const source = process.argv[2];
  const authClient = ExternalAccountClient.fromJSON({
    type: 'external_account',
    audience: process.env.INTEROP_STS_AUDIENCE,
    subject_token_type: JWT,
    token_url: process.env.LAB_STS_URL,
    service_account_impersonation_url:
      `${process.env.LAB_IAM_URL}/v1/projects/-/serviceAccounts/${process.env.INTEROP_SERVICE_ACCOUNT}:generateAccessToken`,
    ...credentialSource(source),
  });
  authClient.scopes = ['https://www.googleapis.com/auth/cloud-platform'];
  const bigquery = new BigQuery({
    projectId: process.env.INTEROP_PROJECT,
    apiEndpoint: process.env.LAB_BIGQUERY_URL,
    authClient,
  });
  const [rows] = await bigquery.query({ query: process.env.INTEROP_QUERY, useLegacySql: false });
  const [job] = await bigquery.createQueryJob({ query: process.env.INTEROP_QUERY, useLegacySql: false });
  const [jobRows] = await job.getQueryResults();
  console.log(JSON.stringify({ source, rows, jobRows }));
}

main().catch(error => {
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
});
