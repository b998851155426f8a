"""The schema's roots: the ``@idempotent`` directive, the scalars, ``PageInfo``, and the
``Query`` and ``Mutation`` fields of every domain."""

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
"""
