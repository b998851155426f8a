"""Bulk operations as ``bulkOperation`` and ``bulkOperations`` answer them, and the
payload and user errors of ``bulkOperationRunQuery``."""

SDL = """
# --- bulk operations -------------------------------------------------------------------------

enum BulkOperationStatus {
  CANCELED
  CANCELING
  COMPLETED
  CREATED
  EXPIRED
  FAILED
  RUNNING
}

enum BulkOperationErrorCode {
  ACCESS_DENIED
  INTERNAL_SERVER_ERROR
  TIMEOUT
}

enum BulkOperationType {
  MUTATION
  QUERY
}

enum BulkOperationsSortKeys {
  COMPLETED_AT
  CREATED_AT
}

type BulkOperation {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  createdAt: DateTime!
  completedAt: DateTime
  query: String!
  type: BulkOperationType!
}

type BulkOperationEdge {
  cursor: String!
  node: BulkOperation!
}

type BulkOperationConnection {
  edges: [BulkOperationEdge!]!
  nodes: [BulkOperation!]!
  pageInfo: PageInfo!
}

type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}

type BulkOperationUserError {
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}

enum BulkOperationUserErrorCode {
  INVALID
  LIMIT_REACHED
  OPERATION_IN_PROGRESS
}
"""
