"""Products, variants, locations and inventory levels, and the input, payload and user
errors of ``inventorySetQuantities``."""

SDL = """
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
"""
