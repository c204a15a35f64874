WITH kwp_filled AS (
  SELECT
    `age` AS kwp_r0,
    kwp_imp.kwp_i0 AS kwp_fi0,
    CASE
      WHEN COALESCE(CAST(`age` AS FLOAT64), kwp_imp.kwp_i0) < CAST(0.0 AS FLOAT64)
      THEN CAST(0.0 AS FLOAT64)
      WHEN COALESCE(CAST(`age` AS FLOAT64), kwp_imp.kwp_i0) > CAST(120.0 AS FLOAT64)
      THEN CAST(120.0 AS FLOAT64)
      ELSE COALESCE(CAST(`age` AS FLOAT64), kwp_imp.kwp_i0)
    END AS kwp_t0,
    `income` AS kwp_r1,
    kwp_imp.kwp_i1 AS kwp_fi1,
    CASE
      WHEN COALESCE(CAST(`income` AS FLOAT64), kwp_imp.kwp_i1) < CAST(0.0 AS FLOAT64)
      THEN -LN(CAST(1.0 AS FLOAT64) - COALESCE(CAST(`income` AS FLOAT64), kwp_imp.kwp_i1))
      ELSE LN(CAST(1.0 AS FLOAT64) + COALESCE(CAST(`income` AS FLOAT64), kwp_imp.kwp_i1))
    END AS kwp_t1,
    `visits` AS kwp_r2,
    kwp_imp.kwp_i2 AS kwp_fi2,
    COALESCE(CAST(`visits` AS FLOAT64), kwp_imp.kwp_i2) AS kwp_t2,
    `score` AS kwp_r3,
    COALESCE(CAST(`score` AS FLOAT64), CAST(0.5 AS FLOAT64)) AS kwp_t3,
    `city` AS kwp_r4,
    `device` AS kwp_r5,
    `raw` AS kwp_r6,
    CAST(`raw` AS FLOAT64) AS kwp_t6
  FROM (
    SELECT
      *
    FROM `proj`.`analytics`.`events_kwp_split`
    WHERE
      `__kwp_split` = 'train'
  ) AS kwp_train
  CROSS JOIN (
    SELECT
      CAST((
        SELECT
          AVG(kwp_v)
        FROM (
          SELECT
            CAST(`age` AS FLOAT64) AS kwp_v,
            ROW_NUMBER() OVER (ORDER BY CAST(`age` AS FLOAT64) NULLS LAST) AS kwp_rn,
            COUNT(*) OVER () AS kwp_n
          FROM (
            SELECT
              *
            FROM `proj`.`analytics`.`events_kwp_split`
            WHERE
              `__kwp_split` = 'train'
          ) AS kwp_train
          WHERE
            NOT `age` IS NULL
        ) AS kwp_m
        WHERE
          kwp_rn * 2 BETWEEN kwp_n AND kwp_n + 2
      ) AS FLOAT64) AS kwp_i0,
      CAST(AVG(CAST(`income` AS FLOAT64)) AS FLOAT64) AS kwp_i1,
      CAST((
        SELECT
          kwp_v
        FROM (
          SELECT
            kwp_v,
            kwp_n,
            ROW_NUMBER() OVER (ORDER BY kwp_n DESC, kwp_v NULLS LAST) AS kwp_rank
          FROM (
            SELECT
              CAST(`visits` AS FLOAT64) AS kwp_v,
              COUNT(*) AS kwp_n
            FROM (
              SELECT
                *
              FROM `proj`.`analytics`.`events_kwp_split`
              WHERE
                `__kwp_split` = 'train'
            ) AS kwp_train
            WHERE
              NOT `visits` IS NULL
            GROUP BY
              CAST(`visits` AS FLOAT64)
          ) AS kwp_g
        ) AS kwp_r
        WHERE
          kwp_rank = 1
      ) AS FLOAT64) AS kwp_i2,
      COUNT(*) AS kwp_imp_rows
    FROM (
      SELECT
        *
      FROM `proj`.`analytics`.`events_kwp_split`
      WHERE
        `__kwp_split` = 'train'
    ) AS kwp_train
  ) AS kwp_imp
)
SELECT
  *
FROM (
  SELECT
    'aggregate' AS kwp_kind,
    CAST(NULL AS INT64) AS kwp_column,
    CAST(NULL AS STRING) AS kwp_value,
    CAST(NULL AS INT64) AS kwp_count,
    CAST(NULL AS INT64) AS kwp_rank,
    CAST(COUNT(*) AS FLOAT64) AS kwp_rows,
    CAST(COUNT(kwp_r0) AS FLOAT64) AS kwp_c0_nonnull,
    MIN(kwp_fi0) AS kwp_c0_impute,
    CAST(AVG(kwp_t0) AS FLOAT64) AS kwp_c0_mean,
    CAST(STDDEV_SAMP(kwp_t0) AS FLOAT64) AS kwp_c0_std,
    CAST(COUNT(kwp_r1) AS FLOAT64) AS kwp_c1_nonnull,
    MIN(kwp_fi1) AS kwp_c1_impute,
    CAST(MIN(kwp_t1) AS FLOAT64) AS kwp_c1_min,
    CAST(MAX(kwp_t1) AS FLOAT64) AS kwp_c1_max,
    CAST(COUNT(kwp_r2) AS FLOAT64) AS kwp_c2_nonnull,
    MIN(kwp_fi2) AS kwp_c2_impute,
    CAST(COUNT(kwp_r3) AS FLOAT64) AS kwp_c3_nonnull,
    CAST(AVG(kwp_t3) AS FLOAT64) AS kwp_c3_mean,
    CAST(STDDEV_SAMP(kwp_t3) AS FLOAT64) AS kwp_c3_std,
    CAST(COUNT(kwp_r4) AS FLOAT64) AS kwp_c4_nonnull,
    CAST(COUNT(kwp_r5) AS FLOAT64) AS kwp_c5_nonnull,
    CAST(COUNT(kwp_r6) AS FLOAT64) AS kwp_c6_nonnull
  FROM kwp_filled
  UNION ALL
  SELECT
    'vocab' AS kwp_kind,
    CAST(4 AS INT64) AS kwp_column,
    CAST(kwp_v AS STRING) AS kwp_value,
    CAST(kwp_n AS INT64) AS kwp_count,
    CAST(kwp_rank AS INT64) AS kwp_rank,
    CAST(NULL AS FLOAT64) AS kwp_rows,
    CAST(NULL AS FLOAT64) AS kwp_c0_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c0_impute,
    CAST(NULL AS FLOAT64) AS kwp_c0_mean,
    CAST(NULL AS FLOAT64) AS kwp_c0_std,
    CAST(NULL AS FLOAT64) AS kwp_c1_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c1_impute,
    CAST(NULL AS FLOAT64) AS kwp_c1_min,
    CAST(NULL AS FLOAT64) AS kwp_c1_max,
    CAST(NULL AS FLOAT64) AS kwp_c2_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c2_impute,
    CAST(NULL AS FLOAT64) AS kwp_c3_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c3_mean,
    CAST(NULL AS FLOAT64) AS kwp_c3_std,
    CAST(NULL AS FLOAT64) AS kwp_c4_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c5_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c6_nonnull
  FROM (
    SELECT
      kwp_v,
      kwp_n,
      ROW_NUMBER() OVER (ORDER BY kwp_n DESC, kwp_v NULLS LAST) AS kwp_rank
    FROM (
      SELECT
        COALESCE(CAST(`city` AS STRING), 'none') AS kwp_v,
        COUNT(*) AS kwp_n
      FROM (
        SELECT
          *
        FROM `proj`.`analytics`.`events_kwp_split`
        WHERE
          `__kwp_split` = 'train'
      ) AS kwp_train
      GROUP BY
        COALESCE(CAST(`city` AS STRING), 'none')
    ) AS kwp_g
  ) AS kwp_v4
  WHERE
    kwp_rank <= 3
  UNION ALL
  SELECT
    'vocab' AS kwp_kind,
    CAST(5 AS INT64) AS kwp_column,
    CAST(kwp_v AS STRING) AS kwp_value,
    CAST(kwp_n AS INT64) AS kwp_count,
    CAST(kwp_rank AS INT64) AS kwp_rank,
    CAST(NULL AS FLOAT64) AS kwp_rows,
    CAST(NULL AS FLOAT64) AS kwp_c0_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c0_impute,
    CAST(NULL AS FLOAT64) AS kwp_c0_mean,
    CAST(NULL AS FLOAT64) AS kwp_c0_std,
    CAST(NULL AS FLOAT64) AS kwp_c1_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c1_impute,
    CAST(NULL AS FLOAT64) AS kwp_c1_min,
    CAST(NULL AS FLOAT64) AS kwp_c1_max,
    CAST(NULL AS FLOAT64) AS kwp_c2_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c2_impute,
    CAST(NULL AS FLOAT64) AS kwp_c3_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c3_mean,
    CAST(NULL AS FLOAT64) AS kwp_c3_std,
    CAST(NULL AS FLOAT64) AS kwp_c4_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c5_nonnull,
    CAST(NULL AS FLOAT64) AS kwp_c6_nonnull
  FROM (
    SELECT
      kwp_v,
      kwp_n,
      ROW_NUMBER() OVER (ORDER BY kwp_n DESC, kwp_v NULLS LAST) AS kwp_rank
    FROM (
      SELECT
        CAST(`device` AS STRING) AS kwp_v,
        COUNT(*) AS kwp_n
      FROM (
        SELECT
          *
        FROM `proj`.`analytics`.`events_kwp_split`
        WHERE
          `__kwp_split` = 'train'
      ) AS kwp_train
      WHERE
        NOT `device` IS NULL
      GROUP BY
        CAST(`device` AS STRING)
    ) AS kwp_g
  ) AS kwp_v5
  WHERE
    kwp_rank <= 2
) AS kwp_stats
