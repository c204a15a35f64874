CREATE TABLE `proj`.`analytics`.`events_kwp_split` AS
SELECT
  `id`,
  `label`,
  `age`,
  `income`,
  `visits`,
  `score`,
  `city`,
  `device`,
  `raw`,
  CASE
    WHEN kwp_bucket < 7000
    THEN 'train'
    WHEN kwp_bucket < 8500
    THEN 'validation'
    ELSE 'test'
  END AS `__kwp_split`
FROM (
  SELECT
    `id`,
    `label`,
    `age`,
    `income`,
    `visits`,
    `score`,
    `city`,
    `device`,
    `raw`,
    MOD(
      CAST(CONCAT('0x', SUBSTRING(TO_HEX(MD5(CONCAT('golden:', CAST(`id` AS STRING)))), 1, 8)) AS INT64),
      10000
    ) AS kwp_bucket
  FROM `proj`.`analytics`.`events`
) AS kwp_src
