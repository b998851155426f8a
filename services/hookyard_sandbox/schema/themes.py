"""Themes and their files, and the inputs, payloads and user errors of ``themeCreate``,
``themeFilesUpsert`` and ``themeFilesDelete``."""

SDL = """
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
