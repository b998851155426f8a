"""Customers and their metafields, and the input, payload and user errors of
``metafieldsSet``."""

SDL = """
# --- customers and metafields ----------------------------------------------------------------

type Customer {
  id: ID!
  email: String
  phone: String
  firstName: String
  lastName: String
  displayName: String!
  metafield(namespace: String, key: String!): Metafield
  metafields(first: Int, after: String, namespace: String): MetafieldConnection!
}

type CustomerEdge {
  cursor: String!
  node: Customer!
}

type CustomerConnection {
  edges: [CustomerEdge!]!
  nodes: [Customer!]!
  pageInfo: PageInfo!
}

type Metafield {
  id: ID!
  namespace: String!
  key: String!
  type: String!
  value: String!
  ownerType: String!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type MetafieldEdge {
  cursor: String!
  node: Metafield!
}

type MetafieldConnection {
  edges: [MetafieldEdge!]!
  nodes: [Metafield!]!
  pageInfo: PageInfo!
}

input MetafieldsSetInput {
  ownerId: ID!
  namespace: String
  key: String!
  value: String!
  type: String
  compareDigest: String
}

type MetafieldsSetPayload {
  metafields: [Metafield!]
  userErrors: [MetafieldsSetUserError!]!
}

type MetafieldsSetUserError {
  code: MetafieldsSetUserErrorCode
  elementIndex: Int
  field: [String!]
  message: String!
}

enum MetafieldsSetUserErrorCode {
  APP_NOT_AUTHORIZED
  BLANK
  INCLUSION
  INTERNAL_ERROR
  INVALID
  INVALID_COMPARE_DIGEST
  INVALID_TYPE
  INVALID_VALUE
  LESS_THAN_OR_EQUAL_TO
  PRESENT
  STALE_OBJECT
  TAKEN
  TOO_LONG
  TOO_SHORT
}
"""
