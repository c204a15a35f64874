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
      CAST('0x' || SUBSTRING(MD5('golden:' || CAST("id" AS TEXT)), 1, 8) AS BIGINT)
    ) % 10000 AS kwp_bucket
  FROM "proj"."analytics"."events"
) AS kwp_src
