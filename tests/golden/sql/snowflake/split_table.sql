CREATE TABLE "proj"."analytics"."events_kwp_split" AS
SELECT
  "id",
  "label",
  "age",
  "income",
  "visits",
  "score",
  "city",
  "device",
  "raw",
  CASE
    WHEN kwp_bucket < 7000
    THEN 'train'
    WHEN kwp_bucket < 8500
    THEN 'validation'
    ELSE 'test'
  END AS "__kwp_split"
FROM (
  SELECT
    "id",
    "label",
    "age",
    "income",
    "visits",
    "score",
    "city",
    "device",
    "raw",
    (
      (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 1, 1),
          '0123456789abcdef'
        ) - 1
      ) * 268435456 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 2, 1),
          '0123456789abcdef'
        ) - 1
      ) * 16777216 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 3, 1),
          '0123456789abcdef'
        ) - 1
      ) * 1048576 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 4, 1),
          '0123456789abcdef'
        ) - 1
      ) * 65536 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 5, 1),
          '0123456789abcdef'
        ) - 1
      ) * 4096 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 6, 1),
          '0123456789abcdef'
        ) - 1
      ) * 256 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 7, 1),
          '0123456789abcdef'
        ) - 1
      ) * 16 + (
        CHARINDEX(
          SUBSTRING(SUBSTRING(MD5(CONCAT('golden:', CAST("id" AS VARCHAR))), 1, 8), 8, 1),
          '0123456789abcdef'
        ) - 1
      ) * 1
    ) % 10000 AS kwp_bucket
  FROM "proj"."analytics"."events"
) AS kwp_src
