import type { Clock } from "../runtime/index.js";
import { createArtifactStore, createFsBlobBackend, type ArtifactStore, type BlobBackend } from "./artifacts.js";
import type { MetadataDb } from "./metadata-db.js";
import { createS3BlobBackend, type S3Connection } from "./s3/artifact-blobs.js";

export interface ArtifactDestinationOptions {
  /** How to reach the server when the destination is `s3://…`. */
  readonly s3?: S3Connection | undefined;
  readonly clock?: Clock;
}

/** True for an `s3://bucket/prefix` artifacts destination. */
export function isS3Destination(destination: string): boolean {
  return destination.startsWith("s3://");
}

/**
 * The artifact store at `destination`: `s3://bucket/prefix` keeps blobs in an S3-compatible
 * bucket, anything else is a directory. Either way the tree of names is in the metadata database.
 * Does no I/O (the AWS SDK is imported on first use).
 */
export function openArtifactStore(
  metadata: MetadataDb,
  destination: string,
  options: ArtifactDestinationOptions = {},
): ArtifactStore {
  return createArtifactStore(metadata, openBlobBackend(destination, options.s3), options.clock ?? Date.now);
}

/** The blob layer alone at `destination` (e.g. to copy blobs between destinations). */
export function openBlobBackend(destination: string, s3?: S3Connection): BlobBackend {
  return isS3Destination(destination) ? createS3BlobBackend({ ...s3, destination }) : createFsBlobBackend(destination);
}
