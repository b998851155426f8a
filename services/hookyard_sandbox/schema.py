"""The subset of Shopify's GraphQL Admin API schema the sandbox serves (and Hookyard uses).

Type, field, argument and enum names are Shopify's (Admin API 2026-04 and later), so a query
that validates here is written the way Shopify expects. Only the fields Hookyard selects, and a
few useful for tests, are declared.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

SDL = """
directive @idempotent(key: String!) on FIELD

scalar URL
scalar DateTime
scalar UnsignedInt64

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  customers(first: Int, after: String, query: String): CustomerConnection!
  customer(id: ID!): Customer
  inventoryItem(id: ID!): InventoryItem
  location(id: ID!): Location
  themes(first: Int, after: String, roles: [ThemeRole!]): OnlineStoreThemeConnection
  theme(id: ID!): OnlineStoreTheme
  bulkOperation(id: ID!): BulkOperation
  bulkOperations(
    first: Int, after: String, query: String, reverse: Boolean = false,
    sortKey: BulkOperationsSortKeys = CREATED_AT
  ): BulkOperationConnection!
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  metafieldsSet(metafields: [MetafieldsSetInput!]!): MetafieldsSetPayload
  themeCreate(source: URL!, name: String, role: ThemeRole): ThemeCreatePayload
  themeFilesUpsert(
    themeId: ID!, files: [OnlineStoreThemeFilesUpsertFileInput!]!
  ): ThemeFilesUpsertPayload
  themeFilesDelete(themeId: ID!, files: [String!]!): ThemeFilesDeletePayload
  bulkOperationRunQuery(
    query: String!, groupObjects: Boolean! = false
  ): BulkOperationRunQueryPayload
}

# --- products and inventory ------------------------------------------------------------------

type Product {
  id: ID!
  title: String!
}

type ProductVariant {
  id: ID!
  sku: String
  title: String!
  product: Product!
  inventoryItem: InventoryItem!
}

type ProductVariantEdge {
  cursor: String!
  node: ProductVariant!
}

type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}

type Location {
  id: ID!
  name: String!
}

type InventoryItem {
  id: ID!
  sku: String
  tracked: Boolean!
  inventoryLevel(locationId: ID!): InventoryLevel
}

type InventoryLevel {
  id: ID!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type InventoryQuantity {
  name: String!
  quantity: Int!
}

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  changeFromQuantity: Int
}

type InventoryAdjustmentGroup {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_QUANTITY_NEGATIVE
  INVALID_REASON
  INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION
  INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW
  COMPARE_QUANTITY_REQUIRED
  COMPARE_QUANTITY_STALE
  CHANGE_FROM_QUANTITY_STALE
  INVALID_NAME
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
  NON_MUTABLE_INVENTORY_ITEM
  IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
}

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

# --- themes ----------------------------------------------------------------------------------

enum ThemeRole {
  ARCHIVED
  DEMO
  DEVELOPMENT
  LOCKED
  MAIN
  UNPUBLISHED
}

type OnlineStoreTheme {
  id: ID!
  name: String!
  role: ThemeRole!
  processing: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  files(filenames: [String!], first: Int, after: String): OnlineStoreThemeFileConnection
}

type OnlineStoreThemeEdge {
  cursor: String!
  node: OnlineStoreTheme!
}

type OnlineStoreThemeConnection {
  edges: [OnlineStoreThemeEdge!]!
  nodes: [OnlineStoreTheme!]!
  pageInfo: PageInfo!
}

type OnlineStoreThemeFile {
  filename: String!
  checksumMd5: String
  size: UnsignedInt64!
  contentType: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  body: OnlineStoreThemeFileBody!
}

union OnlineStoreThemeFileBody = OnlineStoreThemeFileBodyText | OnlineStoreThemeFileBodyBase64

type OnlineStoreThemeFileBodyText {
  content: String!
}

type OnlineStoreThemeFileBodyBase64 {
  contentBase64: String!
}

type OnlineStoreThemeFileEdge {
  cursor: String!
  node: OnlineStoreThemeFile!
}

type OnlineStoreThemeFileConnection {
  edges: [OnlineStoreThemeFileEdge!]!
  nodes: [OnlineStoreThemeFile!]!
  pageInfo: PageInfo!
}

type ThemeCreatePayload {
  theme: OnlineStoreTheme
  userErrors: [ThemeCreateUserError!]!
}

type ThemeCreateUserError {
  code: ThemeCreateUserErrorCode
  field: [String!]
  message: String!
}

enum ThemeCreateUserErrorCode {
  INVALID_THEME_ROLE_FOR_THEME_CREATION
  INVALID
}

input OnlineStoreThemeFilesUpsertFileInput {
  filename: String!
  body: OnlineStoreThemeFilesUpsertFileBodyInput!
}

input OnlineStoreThemeFilesUpsertFileBodyInput {
  type: OnlineStoreThemeFileBodyInputType!
  value: String!
}

enum OnlineStoreThemeFileBodyInputType {
  TEXT
  BASE64
  URL
}

type Job {
  id: ID!
  done: Boolean!
}

type OnlineStoreThemeFileOperationResult {
  filename: String!
  checksumMd5: String
  size: UnsignedInt64!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type ThemeFilesUpsertPayload {
  job: Job
  upsertedThemeFiles: [OnlineStoreThemeFileOperationResult!]
  userErrors: [OnlineStoreThemeFilesUserErrors!]!
}

type ThemeFilesDeletePayload {
  deletedThemeFiles: [OnlineStoreThemeFileOperationResult!]
  userErrors: [OnlineStoreThemeFilesUserErrors!]!
}

type OnlineStoreThemeFilesUserErrors {
  code: OnlineStoreThemeFilesUserErrorsCode
  field: [String!]
  filename: String
  message: String!
}

enum OnlineStoreThemeFilesUserErrorsCode {
  ACCESS_DENIED
  DUPLICATE_FILE_INPUT
  ERROR
  FILE_VALIDATION_ERROR
  LESS_THAN_OR_EQUAL_TO
  NOT_FOUND
  THEME_FILES_CONFLICT
  THEME_LIMITED_PLAN
  THROTTLED
}
"""


@cache
def admin_schema() -> GraphQLSchema:
    """The parsed schema (built on first use, then shared; it is immutable)."""
    schema = build_schema(SDL)
    body = schema.get_type("OnlineStoreThemeFileBody")
    # Union members are told apart by the "__typename" key every resolver puts in its dicts.
    body.resolve_type = lambda value, _info, _type: value["__typename"]  # type: ignore[union-attr]
    return schema
