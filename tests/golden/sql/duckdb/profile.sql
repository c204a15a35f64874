SELECT
  COUNT(*) AS kwp_rows,
  COUNT("id") AS kwp_nn0,
  COUNT("label") AS kwp_nn1,
  COUNT("age") AS kwp_nn2,
  COUNT("income") AS kwp_nn3,
  COUNT("visits") AS kwp_nn4,
  COUNT("score") AS kwp_nn5,
  COUNT("city") AS kwp_nn6,
  COUNT("device") AS kwp_nn7,
  COUNT("raw") AS kwp_nn8
FROM "proj"."analytics"."events"
