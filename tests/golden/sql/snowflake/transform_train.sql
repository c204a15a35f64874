CREATE TABLE "proj"."analytics"."events_kwp_train" AS
SELECT
  "id",
  "label",
  CAST((
    CASE
      WHEN COALESCE(CAST("age" AS DOUBLE), CAST(41.5 AS DOUBLE)) < CAST(0.0 AS DOUBLE)
      THEN CAST(0.0 AS DOUBLE)
      WHEN COALESCE(CAST("age" AS DOUBLE), CAST(41.5 AS DOUBLE)) > CAST(120.0 AS DOUBLE)
      THEN CAST(120.0 AS DOUBLE)
      ELSE COALESCE(CAST("age" AS DOUBLE), CAST(41.5 AS DOUBLE))
    END - CAST(40.25 AS DOUBLE)
  ) / CAST(12.5 AS DOUBLE) AS DOUBLE) AS "age",
  CAST((
    CASE
      WHEN COALESCE(CAST("income" AS DOUBLE), CAST(50000.0 AS DOUBLE)) < CAST(0.0 AS DOUBLE)
      THEN -LN(
        CAST(1.0 AS DOUBLE) - COALESCE(CAST("income" AS DOUBLE), CAST(50000.0 AS DOUBLE))
      )
      ELSE LN(
        CAST(1.0 AS DOUBLE) + COALESCE(CAST("income" AS DOUBLE), CAST(50000.0 AS DOUBLE))
      )
    END - CAST(1.0 AS DOUBLE)
  ) / CAST(11.0 AS DOUBLE) AS DOUBLE) AS "income",
  CAST(COALESCE(CAST("visits" AS DOUBLE), CAST(3.0 AS DOUBLE)) AS DOUBLE) AS "visits",
  CAST(CASE
    WHEN COALESCE(CAST("score" AS DOUBLE), CAST(0.5 AS DOUBLE)) IS NULL
    THEN NULL
    ELSE CAST(0.0 AS DOUBLE)
  END AS DOUBLE) AS "score",
  CASE
    WHEN COALESCE(CAST("city" AS VARCHAR), 'none') = 'paris'
    THEN CAST(1.0 AS DOUBLE)
    ELSE CAST(0.0 AS DOUBLE)
  END AS "city__0",
  CASE
    WHEN COALESCE(CAST("city" AS VARCHAR), 'none') = 'it\'s'
    THEN CAST(1.0 AS DOUBLE)
    ELSE CAST(0.0 AS DOUBLE)
  END AS "city__1",
  CASE
    WHEN COALESCE(CAST("city" AS VARCHAR), 'none') IN ('paris', 'it\'s')
    THEN CAST(0.0 AS DOUBLE)
    ELSE CAST(1.0 AS DOUBLE)
  END AS "city__oov",
  CASE
    WHEN CAST("device" AS VARCHAR) = 'phone'
    THEN CAST(0.0 AS DOUBLE)
    WHEN CAST("device" AS VARCHAR) = 'tv'
    THEN CAST(1.0 AS DOUBLE)
    ELSE CAST(2.0 AS DOUBLE)
  END AS "device",
  CAST("raw" AS DOUBLE) AS "raw"
FROM "proj"."analytics"."events_kwp_split"
WHERE
  "__kwp_split" = 'train'
