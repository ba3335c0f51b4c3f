// Google -> Azure with Microsoft's and Google's Node SDKs, unchanged: list, read properties of and
// download every blob of a container, and print what was read as one JSON line.
//
//   node --require ./loopback.cjs azure_blob.mjs client-assertion|managed-identity
//
// client-assertion: @azure/identity ClientAssertionCredential, whose assertion callback asks
//   google-auth-library for a Google ID token (audience api://AzureADTokenExchange) from the
//   metadata server, the Cloud Function's flow (learn.microsoft.com/javascript/api/@azure/identity/clientassertioncredential).
// managed-identity: @azure/identity ManagedIdentityCredential (App Service's IDENTITY_ENDPOINT, or
//   the VM IMDS when only AZURE_POD_IDENTITY_AUTHORITY_HOST is set).
//
// Settings (environment): what the lab exports (lab.env()) plus INTEROP_TENANT_ID,
// INTEROP_CLIENT_ID (client-assertion), INTEROP_CONTAINER. Trust: NODE_EXTRA_CA_CERTS.
// A non-Microsoft authority host needs disableInstanceDiscovery, as it would in any sovereign or
// private cloud (learn.microsoft.com/javascript/api/@azure/identity/clientassertioncredentialoptions).
import { ClientAssertionCredential, ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { GoogleAuth } from 'google-auth-library';

const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

function credentialFor(mode) {
  if (mode === 'client-assertion') {
    const google = new GoogleAuth();
    let assertions = 0;
    const credential = new ClientAssertionCredential(
      process.env.INTEROP_TENANT_ID,
      process.env.INTEROP_CLIENT_ID,
      async () => {
        assertions += 1;
        const client = await google.getIdTokenClient(TOKEN_EXCHANGE_AUDIENCE);
        return client.idTokenProvider.fetchIdToken(TOKEN_EXCHANGE_AUDIENCE);
      },
      { authorityHost: process.env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true },
    );
    return { credential, assertions: () => assertions };
  }
  if (mode === 'managed-identity') {
    return { credential: new ManagedIdentityCredential(), assertions: () => 0 };
  }
  throw new Error(`unknown mode ${mode}`);
}

async function main() {
  const mode = process.argv[2];
  const { credential, assertions } = credentialFor(mode);
  const service = new BlobServiceClient(process.env.LAB_BLOB_ACCOUNT_URL, credential);
  const container = service.getContainerClient(process.env.INTEROP_CONTAINER);
  const blobs = [];
  for await (const item of container.listBlobsFlat()) {
    const blob = container.getBlobClient(item.name);
    const properties = await blob.getProperties();
    const content = (await blob.downloadToBuffer()).toString('utf8');
    blobs.push({
      name: item.name,
      listedSize: item.properties.contentLength,
      propertiesSize: properties.contentLength,
      contentType: properties.contentType,
      content,
    });
  }
  console.log(JSON.stringify({ mode, blobs, assertions: assertions() }));
}

main().catch(error => {
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
});
