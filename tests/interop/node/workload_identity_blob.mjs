// Google -> Azure from a token file, with Microsoft's Node SDK unchanged: @azure/identity's
// WorkloadIdentityCredential reads the Google ID token `federation token-file` keeps in
// AZURE_FEDERATED_TOKEN_FILE (with AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_AUTHORITY_HOST, as the
// AKS webhook would set them) and @azure/storage-blob lists the container. Prints one JSON line.
//
//   node --require ./loopback.cjs workload_identity_blob.mjs
//
// Source: learn.microsoft.com/javascript/api/@azure/identity/workloadidentitycredential; the credential
// re-reads the file after 5 minutes (dist/commonjs/credentials/workloadIdentityCredential.js,
// readFileContents). A non-Microsoft authority needs disableInstanceDiscovery.
import { WorkloadIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

async function main() {
  const credential = new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
  const service = new BlobServiceClient(process.env.LAB_BLOB_ACCOUNT_URL, credential);
  const container = service.getContainerClient(process.env.INTEROP_CONTAINER);
  const names = [];
  for await (const item of container.listBlobsFlat()) {
    names.push(item.name);
  }
  console.log(JSON.stringify({ names }));
}

main().catch(error => {
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
});
